CREATE TABLE quotes (id INTEGER PRIMARY KEY AUTOINCREMENT, quote TEXT NOT NULL, author TEXT NOT NULL);
INSERT INTO quotes (quote, author) VALUES ('Simple is better than complex.', 'Tim Peters');
