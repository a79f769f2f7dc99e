-- Nothing to do on SQLite: one node makes every change of a key, and clears its own cache of keys as it does.
SELECT 1;
