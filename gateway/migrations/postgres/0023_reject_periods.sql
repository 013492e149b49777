-- The most failures over a long range (issue 17): on PostgreSQL a year's two lists read
-- every unpurged reject of the year from the indexes of 0022 (some 420,000 entries each,
-- 130-170 ms side by side on 2 cores). This summary holds the rejects not yet purged per
-- kind, column (username or source), period of 30 days since the epoch and value, kept in
-- each event's transaction and lowered as rows are purged or erased. A long range reads
-- each period's values with most rejects (the second index), which bound what any value
-- can have, and counts the few values that may be among the most exactly: their whole
-- periods here (the key), the ends from the indexes of 0022 (src/store/filter.rs,
-- `RejectsPlan`). Kept equal in ../sqlite/ and ../postgres/.
CREATE TABLE audit_reject_periods (
    kind    TEXT    NOT NULL,
    col     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    period  BIGINT  NOT NULL,
    n       BIGINT  NOT NULL,
    PRIMARY KEY (kind, col, value, period)
);

INSERT INTO audit_reject_periods (kind, col, value, period, n)
SELECT kind, 'username', username, (time - ((time % 2592000) + 2592000) % 2592000) / 2592000,
       COUNT(*)
FROM audit_events WHERE outcome = 'reject' AND username IS NOT NULL AND purged = FALSE
GROUP BY 1, 3, 4;

INSERT INTO audit_reject_periods (kind, col, value, period, n)
SELECT kind, 'source', source, (time - ((time % 2592000) + 2592000) % 2592000) / 2592000,
       COUNT(*)
FROM audit_events WHERE outcome = 'reject' AND source IS NOT NULL AND purged = FALSE
GROUP BY 1, 3, 4;

-- A period's values with most rejects.
CREATE INDEX audit_reject_periods_top ON audit_reject_periods(kind, col, period, n);
