DROP TABLE demand_list_versions;
DROP TABLE demand_items;
DROP TABLE demand_lists;
DROP TABLE coop_team_extra_pairs;
DROP TABLE coop_teams;
DROP TABLE pairings;
