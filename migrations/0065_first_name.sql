-- A person's first name as their spreadsheet gave it (issue 13, item 11): an import with
-- first and last name columns stores "Prénom Nom" as the name and the first name as such,
-- so {{first_name}} is "Marie-Claire" or "Jean Pierre", not the first word of the name.
-- NULL: not known; the first word of the name stands for it.
ALTER TABLE people ADD COLUMN first_name text;
