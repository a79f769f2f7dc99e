-- Smart links: go-live, targeting rules, A/B variants, the preview card (rules, variants and preview as JSON) and
-- the visitors' password hash; each click records the destination served, the rule or variant that chose it, and
-- whether it came from a QR scan.
ALTER TABLE links ADD COLUMN starts_at INTEGER;
ALTER TABLE links ADD COLUMN prelaunch_url TEXT;
ALTER TABLE links ADD COLUMN rules TEXT;
ALTER TABLE links ADD COLUMN variants TEXT;
ALTER TABLE links ADD COLUMN preview TEXT;
ALTER TABLE links ADD COLUMN password_hash TEXT;

ALTER TABLE clicks ADD COLUMN destination TEXT;
ALTER TABLE clicks ADD COLUMN rule_index INTEGER;
ALTER TABLE clicks ADD COLUMN variant INTEGER;
ALTER TABLE clicks ADD COLUMN source TEXT;
