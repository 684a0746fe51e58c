-- Each service owns its database (see API.md); run once, when the
-- PostgreSQL volume is first created.
CREATE DATABASE auth;
CREATE DATABASE profile;
