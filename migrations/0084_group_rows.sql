-- The rows of an inbound group's closing writes (decide/process.c, outbound/queue.c): the
-- elements of a JSON array, as jsonb_array_elements() gives them, but known to the planner
-- as one row instead of a hundred. A daemon keeps the plans of those statements from the
-- first few groups, often made while the tables were nearly empty: planned for a hundred
-- rows, they hashed the whole of inbound_messages or of every month of outbound_messages,
-- which grew with each group (10 ms a group after 40,000 texts, bench/run-webhooks).
-- Planned for one, they look each row up by its index, whatever the tables' size. Not
-- LANGUAGE sql: that one would be inlined, and the estimate lost with it.
CREATE FUNCTION group_rows(p_rows jsonb) RETURNS SETOF jsonb
LANGUAGE plpgsql IMMUTABLE STRICT ROWS 1 AS $$
BEGIN
    RETURN QUERY SELECT jsonb_array_elements(p_rows);
END;
$$;
