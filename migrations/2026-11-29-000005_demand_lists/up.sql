-- The Guangdong–Guizhou cooperation teams' yearly demand lists.

-- Confirmed pairings from seed/yueqian_pairing.csv (loaded at migrate time).
CREATE TABLE pairings (
    guangdong_code text NOT NULL REFERENCES divisions (code),
    guizhou_code   text NOT NULL REFERENCES divisions (code),
    level          text NOT NULL CHECK (level IN ('prefecture', 'county')),
    PRIMARY KEY (guangdong_code, guizhou_code)
);

-- A cooperation team's Guangdong city, and pairings admin entered beyond the seed.
CREATE TABLE coop_teams (
    org_id              uuid PRIMARY KEY REFERENCES organizations (id),
    guangdong_city_code text NOT NULL REFERENCES divisions (code) CHECK (guangdong_city_code LIKE '44%'),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE coop_team_extra_pairs (
    org_id       uuid NOT NULL REFERENCES coop_teams (org_id),
    guizhou_code text NOT NULL REFERENCES divisions (code) CHECK (guizhou_code LIKE '52%'),
    PRIMARY KEY (org_id, guizhou_code)
);

CREATE TABLE demand_lists (
    id            uuid PRIMARY KEY,
    team_org_id   uuid NOT NULL REFERENCES organizations (id),
    year          integer NOT NULL CHECK (year BETWEEN 2020 AND 2100),
    state         text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'reopened')),
    version       integer NOT NULL DEFAULT 0,
    submitted_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_org_id, year)
);

CREATE TABLE demand_items (
    list_id  uuid NOT NULL REFERENCES demand_lists (id),
    ref      text NOT NULL CHECK (length(ref) BETWEEN 1 AND 64),
    kind     text NOT NULL CHECK (kind IN ('enterprise', 'project', 'employment')),
    data     jsonb NOT NULL,
    -- The job an employment item became (kept across resubmissions).
    job_id   uuid REFERENCES jobs (id),
    PRIMARY KEY (list_id, ref)
);

-- Every change of a list: who, when, what, why.
CREATE TABLE demand_list_versions (
    list_id    uuid NOT NULL REFERENCES demand_lists (id),
    version    integer NOT NULL,
    state      text NOT NULL,
    action     text NOT NULL CHECK (action IN ('edit', 'import', 'submit', 'reopen')),
    items      jsonb NOT NULL,
    reason     text,
    changed_by_org_id uuid REFERENCES organizations (id),
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, version)
);
