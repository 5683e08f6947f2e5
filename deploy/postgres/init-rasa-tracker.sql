-- Run once by the postgres image on first start (docker-entrypoint-initdb.d): Rasa's tracker
-- store gets its own database beside Parley's, owned by the same user.
CREATE DATABASE rasa_tracker OWNER parley;
