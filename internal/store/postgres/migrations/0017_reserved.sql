-- Reserved for the migration of another branch (issue 17's dashboard
-- users); this placeholder only keeps the numbering gapless until that
-- branch is merged, and is dropped then.
SELECT 1;
