DROP TABLE offers;
DROP TABLE audit_log;
DROP TABLE merchant_members;
DROP TABLE merchants;
