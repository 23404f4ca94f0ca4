-- Shared SQL macros. Loaded into every connection by tkpk.db.connect().
-- Keys used to match free-text names (kelurahan, programs) against the reference tables.

-- area_key: kelurahan/desa name -> match key. Drops a KEL./KELURAHAN/DESA prefix, any case,
-- and everything that is not a letter or digit ("Kel. Sapuro Kebulen" -> "SAPUROKEBULEN").
create or replace temp macro area_key(s) as
    nullif(
        regexp_replace(
            regexp_replace(upper(trim(s)), '^(KELURAHAN|KEL\.?|DESA|DS\.?)\s*', ''),
            '[^A-Z0-9]', '', 'g'),
        '');

-- program_key: program name or code -> match key ("PBI-JK" -> "PBIJK", "modal_usaha" -> "MODALUSAHA").
create or replace temp macro program_key(s) as
    nullif(regexp_replace(upper(trim(s)), '[^A-Z0-9]', '', 'g'), '');
