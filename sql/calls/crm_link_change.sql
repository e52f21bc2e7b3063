-- db::links::change. Parameters in crm_link_change's order (sql/functions/crm_link_change.sql).
select r_added as "added!", r_removed as "removed!"
from crm_link_change($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
