-- SMS gateways: cost of every outbound text, delivery reports, concatenated inbound parts.

-- GSM 03.38 cost of a text, the same rules as engine/gsm.c (tests check they agree):
-- GSM-7 when every character is in the default alphabet or the extension table (which
-- costs two septets), else UCS-2 (UTF-16 units; characters past U+FFFF cost two).
-- One SMS holds 160 septets / 70 units; longer texts travel in segments of 153 / 67 that
-- never split an escape pair or a surrogate pair.
CREATE FUNCTION sms_cost(p_text text, OUT encoding text, OUT units integer, OUT segments integer)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    basic constant text := E'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&''()*+,-./0123456789:;<=>?'
                           '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
    extension constant text := E'^{}\\[]~|€\f';
    c text;
    cost integer;
    per_segment integer;
    used integer := 0;
    gsm boolean := true;
    septets integer := 0;
    utf16 integer := 0;
BEGIN
    FOR i IN 1 .. length(p_text) LOOP
        c := substr(p_text, i, 1);
        IF strpos(basic, c) > 0 THEN
            septets := septets + 1;
        ELSIF strpos(extension, c) > 0 THEN
            septets := septets + 2;
        ELSE
            gsm := false;
        END IF;
        utf16 := utf16 + CASE WHEN ascii(c) > 65535 THEN 2 ELSE 1 END;
    END LOOP;
    encoding := CASE WHEN gsm THEN 'gsm7' ELSE 'ucs2' END;
    units := CASE WHEN gsm THEN septets ELSE utf16 END;
    IF units <= (CASE WHEN gsm THEN 160 ELSE 70 END) THEN
        segments := 1;
        RETURN;
    END IF;
    per_segment := CASE WHEN gsm THEN 153 ELSE 67 END;
    segments := 1;
    FOR i IN 1 .. length(p_text) LOOP
        c := substr(p_text, i, 1);
        IF gsm THEN
            cost := CASE WHEN strpos(extension, c) > 0 THEN 2 ELSE 1 END;
        ELSE
            cost := CASE WHEN ascii(c) > 65535 THEN 2 ELSE 1 END;
        END IF;
        IF used + cost > per_segment THEN
            segments := segments + 1;
            used := 0;
        END IF;
        used := used + cost;
    END LOOP;
END;
$$;

ALTER TABLE outbound_messages
    ADD COLUMN sms_encoding text CHECK (sms_encoding IN ('gsm7', 'ucs2')),
    ADD COLUMN sms_segments integer CHECK (sms_segments > 0),
    -- The provider's last word on delivery (delivered, undelivered, buffered, rejected ...),
    -- kept apart from `status`, which is the queue's state.
    ADD COLUMN delivery_status text,
    ADD COLUMN delivered_at timestamptz;

-- Every SMS row carries its cost, whoever inserts it (the queue, a campaign fan-out, an
-- organiser's SQL), so `SELECT sum(sms_segments)` is the bill.
CREATE FUNCTION outbound_sms_cost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.channel = 'sms' THEN
        SELECT encoding, segments INTO NEW.sms_encoding, NEW.sms_segments
        FROM sms_cost(NEW.body);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER outbound_sms_cost BEFORE INSERT OR UPDATE OF body ON outbound_messages
    FOR EACH ROW EXECUTE FUNCTION outbound_sms_cost();

-- Delivery reports as received, matched or not: a report can arrive before the worker
-- that sent the message has stored the provider's id (Twilio is that fast); the trigger
-- below applies it when the id is stored.
CREATE TABLE sms_delivery_reports (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL,
    provider_id  text NOT NULL,
    status       text NOT NULL,   -- delivered, failed, sent (intermediate)
    detail       text NOT NULL,   -- the provider's own word: undelivered, buffered, 8 ...
    error        text,
    outbound_id  bigint REFERENCES outbound_messages(id),
    raw          text,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_delivery_reports_pid_idx ON sms_delivery_reports (provider_id);

-- Apply a delivery report to its outbound row. A final state (delivered, failed) is
-- never overwritten by an intermediate one arriving late (sent, buffered).
CREATE FUNCTION sms_apply_report(p_outbound bigint, p_status text, p_detail text, p_error text)
RETURNS void LANGUAGE sql AS $$
    UPDATE outbound_messages SET
        status = CASE WHEN p_status IN ('delivered', 'failed') THEN p_status
                      WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END,
        delivery_status = p_detail,
        delivered_at = CASE WHEN p_status = 'delivered' THEN now() ELSE delivered_at END,
        last_error = CASE WHEN p_status = 'failed' THEN coalesce(p_error, p_detail)
                          ELSE last_error END
    WHERE id = p_outbound
      AND NOT (status IN ('delivered', 'failed') AND p_status NOT IN ('delivered', 'failed'))
$$;

CREATE FUNCTION outbound_late_reports() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id, status, detail, error FROM sms_delivery_reports
             WHERE provider_id = NEW.provider_id AND outbound_id IS NULL ORDER BY id LOOP
        UPDATE sms_delivery_reports SET outbound_id = NEW.id WHERE id = r.id;
        PERFORM sms_apply_report(NEW.id, r.status, r.detail, r.error);
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbound_late_reports AFTER UPDATE OF provider_id ON outbound_messages
    FOR EACH ROW WHEN (NEW.channel = 'sms' AND NEW.provider_id IS NOT NULL
                       AND NEW.provider_id IS DISTINCT FROM OLD.provider_id)
    EXECUTE FUNCTION outbound_late_reports();

-- Parts of a concatenated inbound SMS (Vonage concat-*), kept until all are here.
CREATE TABLE sms_parts (
    provider     text NOT NULL,
    sender       text NOT NULL,
    ref          text NOT NULL,
    total        integer NOT NULL CHECK (total BETWEEN 2 AND 255),
    part         integer NOT NULL CHECK (part BETWEEN 1 AND 255),
    provider_id  text NOT NULL,
    recipient    text NOT NULL,
    body         text NOT NULL,
    raw          text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, sender, ref, part)
);

-- A replayed report (same provider, message and state) is recorded once.
CREATE UNIQUE INDEX sms_delivery_reports_once_idx
    ON sms_delivery_reports (provider, provider_id, detail);
