-- The most failures over a long range (issue 17): on PostgreSQL a year's two lists read
-- every unpurged reject of the year from the indexes of 0022 (some 420,000 entries each,
-- 130-170 ms side by side on 2 cores). This summary holds the rejects not yet purged per
-- kind, column (username or source), period of 30 days since the epoch and value, kept in
-- each event's transaction and lowered as rows are purged or erased (src/store/filter.rs).
-- A range reads its whole periods here and the part-periods at its ends from the two
-- time-ordered indexes below. Kept equal in ../sqlite/ and ../postgres/.
CREATE TABLE audit_reject_periods (
    kind    TEXT    NOT NULL,
    col     TEXT    NOT NULL,
    period  BIGINT  NOT NULL,
    value   TEXT    NOT NULL,
    n       BIGINT  NOT NULL,
    PRIMARY KEY (kind, col, period, value)
);

INSERT INTO audit_reject_periods (kind, col, period, value, n)
SELECT kind, 'username', (time - ((time % 2592000) + 2592000) % 2592000) / 2592000, username,
       COUNT(*)
FROM audit_events WHERE outcome = 'reject' AND username IS NOT NULL AND purged = FALSE
GROUP BY 1, 3, 4;

INSERT INTO audit_reject_periods (kind, col, period, value, n)
SELECT kind, 'source', (time - ((time % 2592000) + 2592000) % 2592000) / 2592000, source,
       COUNT(*)
FROM audit_events WHERE outcome = 'reject' AND source IS NOT NULL AND purged = FALSE
GROUP BY 1, 3, 4;

-- The part-periods at a range's ends: unpurged rejects by time, covering the value.
CREATE INDEX audit_rejects_time_username ON audit_events(kind, time, username)
    WHERE outcome = 'reject' AND username IS NOT NULL AND purged = FALSE;
CREATE INDEX audit_rejects_time_source ON audit_events(kind, time, source)
    WHERE outcome = 'reject' AND source IS NOT NULL AND purged = FALSE;
