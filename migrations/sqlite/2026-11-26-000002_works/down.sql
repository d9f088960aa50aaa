DROP TABLE work_events;
DROP TABLE works;
