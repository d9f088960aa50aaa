DROP TABLE work_thumbnails;
