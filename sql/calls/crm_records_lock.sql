-- db::relation_batch::lock: crm_records_lock($1 organization, $2 record ids).
select 1 as "locked!" from crm_records_lock($1, $2)
