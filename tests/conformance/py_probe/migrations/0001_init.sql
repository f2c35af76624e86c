-- The probe's one D1 migration: both probes apply the same file.
CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL UNIQUE);
INSERT INTO notes (body) VALUES ('seeded by 0001_init.sql');
