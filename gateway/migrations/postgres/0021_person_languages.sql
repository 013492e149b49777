-- A person's own language for the gateway's texts (issue 15): set in the portal; no row: the
-- organisation's language, else the configured default. Kept equal to
-- ../sqlite/0021_person_languages.sql.
CREATE TABLE person_languages (
    person_id  BIGINT PRIMARY KEY REFERENCES people(id),
    language   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
