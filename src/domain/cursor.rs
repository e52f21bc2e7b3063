//! Feed cursors: where a reader of `GET /v2/changes` stands, as an opaque string.
//!
//! A cursor names a snapshot `prev` (every transaction visible in it has been delivered) and,
//! when a page ended inside a batch, the batch's own snapshot `cur` with the last `seq` handed
//! out. Binary layout, then base64url without padding: version byte, flags, `prev`, [`cur`,
//! last seq, [`cur`'s taken-at seconds]], issued-at seconds; a snapshot is xmin, xmax − xmin,
//! the number of in-progress ids and their ascending gaps, all LEB128 varints.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const VERSION: u8 = 1;
const FLAG_WITHIN: u8 = 1;
/// With FLAG_WITHIN: the batch's snapshot carries when it was taken. Cursors made before it
/// existed lack it, and read as taken when `prev` was (earlier, so they expire no later).
const FLAG_TAKEN_AT: u8 = 2;
/// Longest cursor accepted, in characters: far above any real one (a snapshot lists at most
/// as many ids as the server has connections), and small enough to bound the work.
pub const MAX_CHARS: usize = 8192;
/// xids are 64-bit, but PostgreSQL's `xid8` only takes values up to `i64::MAX`.
const MAX_XID: u64 = i64::MAX as u64;

/// A PostgreSQL `pg_snapshot`: transactions below `xmin` are settled, those at or above `xmax`
/// had not started, those in `xip` were in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    xmin: u64,
    xmax: u64,
    xip: Vec<u64>,
}

impl Snapshot {
    /// The snapshot in which no transaction is visible: reading after it starts at the oldest event.
    pub fn empty() -> Snapshot {
        Snapshot { xmin: 1, xmax: 1, xip: Vec::new() }
    }

    /// Checks the invariants PostgreSQL's `pg_snapshot` input insists on.
    pub fn new(xmin: u64, xmax: u64, mut xip: Vec<u64>) -> Option<Snapshot> {
        xip.sort_unstable();
        xip.dedup();
        let valid = (1..=xmax).contains(&xmin) && xmax <= MAX_XID && xip.iter().all(|x| (xmin..xmax).contains(x));
        valid.then_some(Snapshot { xmin, xmax, xip })
    }

    /// Parses PostgreSQL's text form `xmin:xmax:xip,xip`.
    pub fn parse(text: &str) -> Option<Snapshot> {
        let mut parts = text.split(':');
        let (xmin, xmax, xip) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let xip = xip.split(',').filter(|x| !x.is_empty()).map(|x| x.parse().ok()).collect::<Option<Vec<u64>>>()?;
        Snapshot::new(xmin.parse().ok()?, xmax.parse().ok()?, xip)
    }

    /// The text form PostgreSQL reads as `pg_snapshot`.
    pub fn to_pg(&self) -> String {
        let xip: Vec<String> = self.xip.iter().map(u64::to_string).collect();
        format!("{}:{}:{}", self.xmin, self.xmax, xip.join(","))
    }

    /// Every transaction below this one is settled.
    pub fn xmin(&self) -> u64 {
        self.xmin
    }

    /// The first transaction that had not started.
    pub fn xmax(&self) -> u64 {
        self.xmax
    }

    fn write(&self, out: &mut Vec<u8>) {
        varint(out, self.xmin);
        varint(out, self.xmax - self.xmin);
        varint(out, self.xip.len() as u64);
        let mut last = self.xmin;
        for x in &self.xip {
            varint(out, x - last);
            last = *x;
        }
    }

    fn read(input: &mut &[u8]) -> Option<Snapshot> {
        let xmin = read_varint(input)?;
        let xmax = xmin.checked_add(read_varint(input)?)?;
        let count = usize::try_from(read_varint(input)?).ok().filter(|n| *n <= input.len())?;
        let mut xip = Vec::with_capacity(count);
        let mut last = xmin;
        for _ in 0..count {
            last = last.checked_add(read_varint(input)?)?;
            xip.push(last);
        }
        Snapshot::new(xmin, xmax, xip)
    }
}

/// A page that ended inside a batch: the batch's snapshot and the last sequence number given out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Within {
    pub cur: Snapshot,
    pub last_seq: i64,
    /// When `cur` was taken (Unix seconds): the batch's last page hands out `cur` as the next
    /// `prev`, with this as its `issued_at`.
    pub taken_at: i64,
}

/// A reader's position in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Every transaction visible in this snapshot has been delivered.
    pub prev: Snapshot,
    /// Set when the last page ended inside a batch.
    pub within: Option<Within>,
    /// When `prev` was taken (Unix seconds): retention is measured from it.
    pub issued_at: i64,
}

/// Why a cursor string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is malformed; use a nextCursor or cursor value exactly as returned")]
pub struct Malformed;

impl Cursor {
    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        let mut out = vec![VERSION, if self.within.is_some() { FLAG_WITHIN | FLAG_TAKEN_AT } else { 0 }];
        self.prev.write(&mut out);
        if let Some(within) = &self.within {
            within.cur.write(&mut out);
            varint(&mut out, within.last_seq as u64);
            varint(&mut out, within.taken_at.max(0) as u64);
        }
        varint(&mut out, self.issued_at.max(0) as u64);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Reads a string made by [`Cursor::encode`]; anything else is [`Malformed`].
    pub fn decode(text: &str) -> Result<Cursor, Malformed> {
        if text.len() > MAX_CHARS {
            return Err(Malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| Malformed)?;
        Cursor::read(&bytes).ok_or(Malformed)
    }

    fn read(mut input: &[u8]) -> Option<Cursor> {
        let (&[version, flags], rest) = input.split_first_chunk::<2>()?;
        input = rest;
        if version != VERSION || flags & !(FLAG_WITHIN | FLAG_TAKEN_AT) != 0 || flags == FLAG_TAKEN_AT {
            return None;
        }
        let prev = Snapshot::read(&mut input)?;
        let within = match flags & FLAG_WITHIN {
            0 => None,
            _ => {
                let cur = Snapshot::read(&mut input)?;
                let last_seq = i64::try_from(read_varint(&mut input)?).ok()?;
                let taken_at = match flags & FLAG_TAKEN_AT {
                    0 => None,
                    _ => Some(i64::try_from(read_varint(&mut input)?).ok()?),
                };
                // A batch's snapshot is never older than the one before it.
                if cur.xmin < prev.xmin || cur.xmax < prev.xmax {
                    return None;
                }
                Some((cur, last_seq, taken_at))
            }
        };
        let issued_at = i64::try_from(read_varint(&mut input)?).ok()?;
        let within = match within {
            None => None,
            Some((cur, last_seq, taken_at)) => {
                let taken_at = taken_at.unwrap_or(issued_at);
                // Nor taken before it.
                if taken_at < issued_at {
                    return None;
                }
                Some(Within { cur, last_seq, taken_at })
            }
        };
        input.is_empty().then_some(Cursor { prev, within, issued_at })
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
#[path = "cursor_tests.rs"]
mod tests;
