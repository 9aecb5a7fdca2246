-- An order a team carries out as an activity (issue 5, item 5): a project with a shift,
-- so sign-ups and attendance make its hours ordinary service records.
CREATE TABLE order_activities (
    order_id   BIGINT      PRIMARY KEY REFERENCES orders (id),
    project_id BIGINT      NOT NULL UNIQUE REFERENCES projects (id),
    created_at TIMESTAMPTZ NOT NULL
);
