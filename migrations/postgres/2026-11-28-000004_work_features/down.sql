DROP TABLE work_features;
