-- A campaign has a title organisers name it by (issue 13, item 7): `campaign create
-- --title`, else its subject, else the first line of its text. Campaigns made before have
-- their subject, or their number, as a title; campaigns.subject now holds the subject line
-- of the template file when --subject was not given, so `campaign list` and SQL see it.
ALTER TABLE campaigns ADD COLUMN title text NOT NULL DEFAULT '';
UPDATE campaigns SET subject = coalesce(nullif(subject, ''),
        substring(template from '(?n)^subject:[ \t]*([^\n]*[^ \t\n])'), '')
    WHERE subject = '';
UPDATE campaigns SET title = coalesce(nullif(subject, ''), 'campaign ' || id) WHERE title = '';
