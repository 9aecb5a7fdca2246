-- A jurisdiction's list of staff (`GET /api/v1/staff`) reads the roles given within a
-- region subtree, in region order.
CREATE INDEX grants_region ON grants (region_code, id);
