DROP TABLE signed_requests;
DROP TABLE attribution_events;
DROP TABLE attributions;
