-- Nothing to do on SQLite: one node makes every change of a webhook, and clears what it knows of them as it does.
SELECT 1;
