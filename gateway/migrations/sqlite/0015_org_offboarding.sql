-- A customer organisation that leaves (`org offboard`): its people are removed through the
-- leaver path at once, and their identities are erased (keyed pseudonyms; the audit chain
-- still verifies) when `erase_at` comes. NULL: not offboarded, or already erased.
ALTER TABLE organisations ADD COLUMN offboarded_at BIGINT;
ALTER TABLE organisations ADD COLUMN erase_at BIGINT;
