-- The most failures over a year (issue 17): the indexes of 0011 were ordered by time, so a
-- year's most failures read ~450,000 entries into a temporary b-tree to group them, and
-- SQLite, seeing two indexes with the same (kind, time) prefix, took the source one for the
-- username query and fetched every row from the table (0.5 s on 15 million events).
-- Ordered by the value instead, the GROUP BY streams (about 50 ms for a year, 30 ms for a
-- day); each index holds only the rows its query can count (the value set), and only rows
-- not yet purged: a purged row's username is a pseudonym and its source is gone, and
-- without that condition the index would grow with every year of retained rows.
-- Kept equal in ../sqlite/ and ../postgres/.
DROP INDEX audit_rejects_username;
DROP INDEX audit_rejects_source;
CREATE INDEX audit_rejects_username ON audit_events(kind, username, time)
    WHERE outcome = 'reject' AND username IS NOT NULL AND purged = FALSE;
CREATE INDEX audit_rejects_source ON audit_events(kind, source, time)
    WHERE outcome = 'reject' AND source IS NOT NULL AND purged = FALSE;
