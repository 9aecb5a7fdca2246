-- Finding projects by free text (Chinese included: trigrams need no word segmentation)
-- and near a place.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX projects_text ON projects
    USING gin ((name || ' ' || description || ' ' || address) gin_trgm_ops);
CREATE INDEX projects_lat ON projects (lat, lng) WHERE lat IS NOT NULL;
