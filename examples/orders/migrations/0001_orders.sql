-- The example orders table, with two orders to read.
CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, quantity INTEGER NOT NULL, views INTEGER NOT NULL DEFAULT 0);
INSERT INTO orders (id, item, quantity) VALUES (1, 'teapot', 2), (2, 'kettle', 1);
