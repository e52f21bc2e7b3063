use super::*;

fn snapshot(xmin: u64, xmax: u64, xip: &[u64]) -> Snapshot {
    Snapshot::new(xmin, xmax, xip.to_vec()).unwrap()
}

#[test]
fn cursors_round_trip() {
    let head = Cursor { prev: snapshot(1000, 1010, &[1000, 1003, 1009]), within: None, issued_at: 1_700_000_000 };
    assert_eq!(Cursor::decode(&head.encode()), Ok(head.clone()));
    let within = Cursor {
        within: Some(Within {
            cur: snapshot(1005, 1200, &[1005, 1100]),
            last_seq: 123_456_789,
            taken_at: 1_700_000_300,
        }),
        ..head
    };
    assert_eq!(Cursor::decode(&within.encode()), Ok(within.clone()));
    // Made before a batch's snapshot carried its time: read as taken when `prev` was.
    let mut old = URL_SAFE_NO_PAD.decode(within.encode()).unwrap();
    old[1] = FLAG_WITHIN;
    let mut tail = Vec::new();
    varint(&mut tail, 1_700_000_300);
    let at = old.len() - 5 - tail.len();
    old.drain(at..at + tail.len());
    let old = Cursor::decode(&URL_SAFE_NO_PAD.encode(old)).unwrap();
    assert_eq!(old.within.unwrap().taken_at, 1_700_000_000);
    let start = Cursor { prev: Snapshot::empty(), within: None, issued_at: 0 };
    assert_eq!(Cursor::decode(&start.encode()), Ok(start));
}

#[test]
fn cursors_are_short_and_url_safe() {
    let xip: Vec<u64> = (5_000_000..5_000_050).step_by(2).collect();
    let cursor = Cursor { prev: snapshot(5_000_000, 5_000_100, &xip), within: None, issued_at: 1_800_000_000 };
    let text = cursor.encode();
    assert!(text.len() < 60, "{text}");
    assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
}

#[test]
fn snapshots_read_and_write_postgres_text() {
    let s = Snapshot::parse("748:760:748,751").unwrap();
    assert_eq!((s.xmin(), s.xmax(), s.to_pg()), (748, 760, "748:760:748,751".to_owned()));
    assert_eq!(Snapshot::parse("5:5:").unwrap().to_pg(), "5:5:");
    for bad in ["", "5:4:", "5:9:3", "5:9:9", "a:b:", "0:0:", "1:2:1:"] {
        assert_eq!(Snapshot::parse(bad), None, "{bad}");
    }
}

#[test]
fn anything_not_made_by_encode_is_malformed() {
    let good = Cursor { prev: snapshot(10, 20, &[12]), within: None, issued_at: 99 }.encode();
    let mut truncated = good.clone();
    truncated.pop();
    let long = "A".repeat(MAX_CHARS + 1);
    let trailing = URL_SAFE_NO_PAD.encode([URL_SAFE_NO_PAD.decode(&good).unwrap(), vec![0]].concat());
    for bad in ["", "!!!", "AAAA", truncated.as_str(), long.as_str(), trailing.as_str()] {
        assert_eq!(Cursor::decode(bad), Err(Malformed), "{bad}");
    }
    // Unknown version, unknown flags, an in-progress id outside the snapshot, a time without a
    // batch.
    for bytes in [vec![2, 0, 1, 0, 0, 0], vec![1, 4, 1, 0, 0, 0], vec![1, 0, 10, 5, 1, 7, 0], vec![1, 2, 1, 0, 0, 0]] {
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes)), Err(Malformed));
    }
    // A batch snapshot older than the delivered one.
    let backwards = Cursor {
        prev: snapshot(100, 110, &[]),
        within: Some(Within { cur: snapshot(90, 95, &[]), last_seq: 1, taken_at: 1 }),
        issued_at: 1,
    };
    assert_eq!(Cursor::decode(&backwards.encode()), Err(Malformed));
    // A batch's snapshot taken before the delivered one.
    let early = Cursor {
        prev: snapshot(100, 110, &[]),
        within: Some(Within { cur: snapshot(100, 120, &[]), last_seq: 1, taken_at: 5 }),
        issued_at: 6,
    };
    assert_eq!(Cursor::decode(&early.encode()), Err(Malformed));
}

#[test]
fn varints_refuse_overflow() {
    let mut eleven = vec![0xff; 10];
    eleven.push(0x01);
    assert_eq!(read_varint(&mut eleven.as_slice()), None);
    let mut max = Vec::new();
    varint(&mut max, u64::MAX);
    assert_eq!(read_varint(&mut max.as_slice()), Some(u64::MAX));
}
