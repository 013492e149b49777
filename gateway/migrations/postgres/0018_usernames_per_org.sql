-- Usernames unique per organisation (issue 16): two organisations may each have an `ann`.
-- Kept equal in effect to ../sqlite/0018_usernames_per_org.sql (which rebuilds the table).
ALTER TABLE people DROP CONSTRAINT people_username_key;
-- Unique per organisation; its username-first order serves a lookup by name across them.
CREATE UNIQUE INDEX people_username_org ON people(username, org_id);
