-- db::links::unlinkable. Parameters in crm_link_unlinkable's order.
select r_missing as missing, r_inactive as inactive
from crm_link_unlinkable($1, $2, $3, $4)
