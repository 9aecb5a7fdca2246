-- Finding projects by free text (Chinese included: trigrams need no word segmentation)
-- and near a place.
CREATE VIRTUAL TABLE projects_fts USING fts5(
    name, description, address, content = 'projects', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO projects_fts (rowid, name, description, address)
    SELECT id, name, description, address FROM projects;
CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN
    INSERT INTO projects_fts (rowid, name, description, address)
        VALUES (new.id, new.name, new.description, new.address);
END;
CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, name, description, address)
        VALUES ('delete', old.id, old.name, old.description, old.address);
END;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF name, description, address ON projects BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, name, description, address)
        VALUES ('delete', old.id, old.name, old.description, old.address);
    INSERT INTO projects_fts (rowid, name, description, address)
        VALUES (new.id, new.name, new.description, new.address);
END;
CREATE INDEX projects_lat ON projects (lat, lng) WHERE lat IS NOT NULL;
