-- db::links::for_records: every link of the records $2, in the order they were linked.
select record_id as "record_id!", side as "side!: LinkSide", owner_id as "owner_id!", other_id as "other_id!"
from crm_links_of($1, $2)
order by link_seq
