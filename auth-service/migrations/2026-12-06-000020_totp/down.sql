ALTER TABLE sessions DROP COLUMN second_factor;
ALTER TABLE users DROP COLUMN totp_enabled;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
