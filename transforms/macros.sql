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

-- id_key: a NIK or NO_KK as the accepted tables hold it (digits: id_digits) -> its BIGINT match
-- key, '1' followed by the digits (the leading 1 keeps leading zeros, so equal keys are equal
-- texts; int_match_index, int_program_monthly). A 16-digit id (as every valid one is) is
-- 10^16 + its value: the same number, without the 17-character text that the concatenation
-- allocates for every row (1M households: ~90 M ids a night, ~0.35 s CPU per 10 M saved).
create or replace temp macro id_key(x) as
    case
        when length(x) = 16 then 10000000000000000 + cast(x as bigint)
        else cast('1' || x as bigint)
    end;

-- ---------------------------------------------------------------------------------------------
-- Value parsers of the input contract (docs/contract/raw-extracts.md, "How values arrive").
-- They take text already passed through clean_text (staging cleans every raw column once, in its
-- own CTE: DuckDB inlines a macro argument at each use, so the argument should be a column) and
-- return NULL when the text cannot be read; staging keeps the text beside the parsed value.

-- clean_text: text without surrounding blanks; tabs, line breaks and no-break spaces become
-- spaces, a byte-order mark goes; NULL when empty.
-- Fast path: ASCII text (as many bytes as characters) without a tab, line break or space at
-- either end is already clean (trim only removes space separators, which in ASCII is the space),
-- so only the other values are translated and trimmed (CASE evaluates a branch only on the rows
-- that take it). The guard of the full path is five substring tests, cheaper than one regular
-- expression over every value.
create or replace temp macro clean_text(s) as
    case
        when strlen(s) = length(s)
             and not (s like ' %' or s like '% ' or contains(s, chr(9)) or contains(s, chr(10))
                      or contains(s, chr(13)))
            then nullif(s, '')
        else nullif(trim(
            case when contains(s, chr(9)) or contains(s, chr(10)) or contains(s, chr(13))
                      or contains(s, chr(160)) or contains(s, chr(65279))
                 then translate(s, chr(160) || chr(9) || chr(13) || chr(10) || chr(65279),
                                '    ')
                 else s end), '')
    end;

-- is_sci_number: text in scientific notation ("3.37501E+15", "3,37501e15"); false for NULL.
-- (A CASE, not AND: a value expression evaluates both sides of AND on every row, a CASE runs
-- the regular expression only on the values with an E.)
create or replace temp macro is_sci_number(x) as
    case when contains(x, 'E') or contains(x, 'e')
         then regexp_full_match(x, '[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+') else false end;

-- id_digits: NIK / NO_KK text -> digits. Removes spaces, dots and apostrophes; a numeric
-- spreadsheet cell ("3375011234567890", "3375011234567890,0") or scientific notation becomes
-- the integer it holds.
create or replace temp macro id_digits(x, from_number) as
    case
        when x is null then null
        -- a NIK or NO_KK of 16 digits, as most come: the digits branch below without its regular
        -- expression
        when x glob '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' then x
        -- a NIK grouped as DTSEN exports it ("3375.01.091220.0001"): the dotted branch below
        -- without its regular expressions (not only digits, no E, apostrophe or single decimal
        -- mark: no branch between takes it)
        when x glob '[0-9][0-9][0-9][0-9].[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9].[0-9][0-9][0-9][0-9]'
            then replace(x, '.', '')
        -- a NO_KK grouped by spaces as DTSEN exports it ("337501 220408 0001"): the grouped
        -- branch below without its regular expression
        when x glob '[0-9][0-9][0-9][0-9][0-9][0-9] [0-9][0-9][0-9][0-9][0-9][0-9] [0-9][0-9][0-9][0-9]'
            then replace(x, ' ', '')
        -- a NO_KK of 16 digits kept as text by a leading apostrophe ("'3375011234567890"): the
        -- apostrophe branch below without its regular expressions
        when x glob '''[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
            then substr(x, 2)
        when regexp_full_match(x, '[0-9]+') then x
        -- a text cell's leading apostrophe ("'3375011234567890"): the general removal below
        -- without its regular expression replace
        when case when starts_with(x, '''') then regexp_full_match(x, '''[0-9]+') else false end
            then substr(x, 2)
        when is_sci_number(x) then cast(
            try_cast(try_cast(replace(x, ',', '.') as double) as hugeint) as varchar)
        when coalesce(from_number, false) and regexp_full_match(x, '[0-9]+[.,]0*')
            then regexp_extract(x, '^[0-9]+')
        -- digits grouped by dots or spaces ("3375.01.091220.0001", "337501 031256 0001"): the
        -- general removal below without its regular expression replace
        when regexp_full_match(x, '[0-9. ]+') then nullif(replace(replace(x, '.', ''), ' ', ''), '')
        else nullif(regexp_replace(x, '[\s.''`\x{2018}\x{2019}]', '', 'g'), '')
    end;

-- id_precision_lost: the identifier came from a numeric cell or is in scientific notation.
create or replace temp macro id_precision_lost(x, from_number) as
    x is not null and (coalesce(from_number, false) or is_sci_number(x));

-- number_text: an amount's text without spaces, currency ("Rp", "Rp.", "IDR") and ",-" tail;
-- the input of parse_number.
-- Fast path: digits with dots and commas (and a leading minus) are already such text.
create or replace temp macro number_text(x) as
    case
        when regexp_full_match(x, '-?[0-9.,]+') then x
        else regexp_replace(upper(replace(x, ' ', '')), '^(RP|IDR)\.?|[.,]-+$', '', 'g')
    end;

-- parse_number: number_text -> DECIMAL(18, 2). Dots group thousands ("600.000"), the comma is
-- the decimal mark ("600.000,00", "600000,5"); a spreadsheet number ("600000.5", "1.5E+6").
create or replace temp macro parse_number(t) as
    try_cast(
        case
            when regexp_full_match(t, '-?[0-9]+(,[0-9]*)?') then replace(t, ',', '.')
            when regexp_full_match(t, '-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?')
                then replace(replace(t, '.', ''), ',', '.')
            when regexp_full_match(t, '-?[0-9]*\.[0-9]+') then t
            when regexp_full_match(t, '-?[0-9]+([.,][0-9]+)?E[+-]?[0-9]+')
                then cast(try_cast(replace(t, ',', '.') as double) as varchar)
        end as decimal(18, 2));

-- parse_code: a coded value ("1", "01", "001", a numeric cell "1,0") -> INTEGER; NULL otherwise.
-- Fast path: one or two digits (most codes) are cast without the regular expressions.
create or replace temp macro parse_code(x) as
    case
        when x glob '[0-9]' or x glob '[0-9][0-9]' then cast(x as integer)
        when regexp_full_match(x, '[0-9]{1,4}([.,]0*)?')
            then cast(regexp_extract(x, '^[0-9]+') as integer)
    end;

-- code_of: parse_code of a raw value (not yet cleaned): one to three digits, as most codes come,
-- are cast as they are (clean_text leaves such a text unchanged), any other text is cleaned first
-- (CASE cleans only the rows that take that branch). Staging keeps the cleaned text of a code that
-- could not be read by cleaning it there too: `unparsed(code, clean_text(raw))`.
create or replace temp macro code_of(x) as
    case
        when x glob '[0-9]' or x glob '[0-9][0-9]' or x glob '[0-9][0-9][0-9]'
            then cast(x as integer)
        else parse_code(clean_text(x))
    end;

-- parse_sex: 1/L/LAKI-LAKI -> 'L', 2/P/PEREMPUAN -> 'P' (any case); NULL otherwise.
-- (list_position into one list of both sexes' spellings, not IN nor list_contains: DuckDB turns
-- a constant list there into a join that every row probes, and the normalised text is built
-- once.) Fast path: the codes 1 and 2 as they usually come.
create or replace temp macro parse_sex(x) as
    case
        when x = '1' then 'L'
        when x = '2' then 'P'
        else ['L', 'L', 'L', 'L', 'L', 'L', 'L', 'L', 'P', 'P', 'P', 'P', 'P', 'P'][list_position(
            ['1', '01', 'L', 'LK', 'LAKILAKI', 'LAKI', 'LAKI2', 'PRIA',
             '2', '02', 'P', 'PR', 'PEREMPUAN', 'WANITA'],
            upper(replace(replace(replace(x, ' ', ''), '-', ''), '.', '')))]
    end;

-- sex_of: parse_sex of a raw value (not yet cleaned); "1" and "2" and the spellings DTSEN exports
-- usually carry ("L", "l", "LAKI-LAKI", "Laki-laki", "P", "p", "PEREMPUAN", "Perempuan": clean_text
-- leaves them unchanged, parse_sex reads them so) are read by equality, without clean_text and
-- parse_sex's list lookup (a chain of equalities on short texts: ~5x cheaper than the lookup).
create or replace temp macro sex_of(x) as
    case
        when x = '1' then 'L'
        when x = '2' then 'P'
        when x = 'L' or x = 'l' or x = 'LAKI-LAKI' or x = 'Laki-laki' then 'L'
        when x = 'P' or x = 'p' or x = 'PEREMPUAN' or x = 'Perempuan' then 'P'
        else parse_sex(clean_text(x))
    end;

-- month_number: Indonesian (or English) month name or abbreviation -> 1..12; NULL otherwise.
-- (The name is referenced once: it is usually an expression.)
create or replace temp macro month_number(name) as
    [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8,
     9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12][list_position(
    ['JANUARI', 'JANUARY', 'JAN', 'FEBRUARI', 'PEBRUARI', 'FEBRUARY', 'FEB', 'PEB',
     'MARET', 'MARCH', 'MAR', 'APRIL', 'APR', 'MEI', 'MAY', 'JUNI', 'JUNE', 'JUN',
     'JULI', 'JULY', 'JUL', 'AGUSTUS', 'AUGUST', 'AGU', 'AGT', 'AGS', 'AGUS', 'AUG',
     'SEPTEMBER', 'SEPT', 'SEP', 'OKTOBER', 'OCTOBER', 'OKT', 'OCT',
     'NOVEMBER', 'NOPEMBER', 'NOV', 'NOP', 'DESEMBER', 'DECEMBER', 'DES', 'DEC'],
    upper(name))];

-- plausible_date: a date between 1800 and 2200, else NULL (typos such as year 0202 or 20026).
create or replace temp macro plausible_date(d) as
    case when d between date '1800-01-01' and date '2200-12-31' then d end;

-- dated: the date of a timestamp parsed from text whose year is the 4 digits `year_text`, when
-- plausible (the years 1800 to 2200: plausible_date's range, whole years); NULL otherwise.
-- The timestamp is referenced once (plausible_date's argument is referenced three times, and
-- DuckDB inlines a macro argument at each use: the parse would run three times).
create or replace temp macro dated(year_text, ts) as
    case when year_text between '1800' and '2200' then cast(ts as date) end;

-- parse_date: a date in any contract format -> DATE, day first always; NULL when unreadable or
-- impossible (31/02). ISO "2026-06-26" (with an optional time), "26/06/2026", "26-06-2026",
-- "26.06.2026", "26 Juni 2026", "26 Jun 2026" (Agu, Agt, Des ...), a spreadsheet serial number.
-- Fast paths: the usual whole forms "2026-06-26", "26 Jun 2026" / "6 Juni 2026" (a day, one
-- word, a year: the word's month_number, NULL when it is none, as the general branch reads such
-- a text) and "26/06/2026", "26-06-2026", "26.06.2026": the same strptime as their general
-- branches below, without the regular expressions, and the plausible year checked on the text
-- (dated) so that each value is parsed once. The whole ISO form is read by the text-to-date cast
-- instead of strptime (~3x cheaper; the same date, or NULL, on every 'YYYY-MM-DD' text of the
-- years 1790-2210 with months and days 00-99: tests/test_staging_fast_paths.py).
create or replace temp macro parse_date(x) as
    case
        when x glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
            then dated(substr(x, 1, 4), try_cast(x as date))
        when x glob '[0-9][0-9] [A-Za-z]*[A-Za-z] [0-9][0-9][0-9][0-9]'
            then dated(right(x, 4), try_strptime(
                substr(x, 1, 2) || '-' || month_number(substr(x, 4, length(x) - 8)) || '-'
                || right(x, 4),
                '%d-%m-%Y'))
        when x glob '[0-9] [A-Za-z]*[A-Za-z] [0-9][0-9][0-9][0-9]'
            then dated(right(x, 4), try_strptime(
                substr(x, 1, 1) || '-' || month_number(substr(x, 3, length(x) - 7)) || '-'
                || right(x, 4),
                '%d-%m-%Y'))
        when x glob '[0-9][0-9]?[0-9][0-9]?[0-9][0-9][0-9][0-9]'
             and contains('/.-', substr(x, 3, 1)) and contains('/.-', substr(x, 6, 1))
            then dated(right(x, 4), try_strptime(translate(x, '/.', '--'), '%d-%m-%Y'))
        else plausible_date(cast(
            case
                when regexp_matches(x, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}($|[ T])')
                    then try_strptime(regexp_extract(x, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}'),
                                      '%Y-%m-%d')
                when regexp_matches(x, '^[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{4}($| )')
                    then try_strptime(
                        translate(
                            regexp_extract(x, '^[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{4}'),
                            '/.', '--'),
                        '%d-%m-%Y')
                when regexp_full_match(x, '[0-9]{5}([.,][0-9]*)?')
                    then date '1899-12-30' + cast(regexp_extract(x, '^[0-9]+') as integer)
                when regexp_full_match(x, '[0-9]{1,2}[ \-]+[A-Za-z]+\.?[ \-]+[0-9]{4}')
                    then try_strptime(
                        regexp_extract(x, '^([0-9]{1,2})', 1) || '-'
                        || month_number(regexp_extract(x, '([A-Za-z]+)', 1)) || '-'
                        || regexp_extract(x, '([0-9]{4})$', 1),
                        '%d-%m-%Y')
            end as date))
    end;

-- area_name_key: the area_key of a kelurahan name where its code did not resolve (`code` NULL);
-- NULL where it did, so the name's two regular expressions run only on the rows that need them.
create or replace temp macro area_name_key(code, name) as
    case when code is null then area_key(name) end;

-- area_code_text: a Kemendagri kelurahan code, plain ("3375011002", a numeric cell) or dotted
-- ("33.75.01.1002") -> dotted text; NULL when not code-shaped.
create or replace temp macro area_code_text(x) as
    case
        when regexp_full_match(x, '[0-9]{10}([.,]0+)?')
            then substr(x, 1, 2) || '.' || substr(x, 3, 2) || '.' || substr(x, 5, 2) || '.'
                || substr(x, 7, 4)
        when regexp_full_match(x, '[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}') then x
    end;

-- kelurahan_lookup: the kelurahan of each distinct (kode_kelurahan, nama_kelurahan) pair of
-- text as read in `file_rows` (a staging file's `_file_rows`), by code, else by name
-- (ref_area_alias): kode_kelurahan_raw, nama_kelurahan_raw (the pair, to join back to the rows),
-- kelurahan_code (NULL when neither resolves), kelurahan_unparsed (the cleaned text then).
-- `query_table` leaves the body unbound until a staging statement calls it with its rows.
create or replace temp macro kelurahan_lookup(file_rows) as table
    select
        k.kode_kelurahan as kode_kelurahan_raw,
        k.nama_kelurahan as nama_kelurahan_raw,
        coalesce(by_code.code, by_name.code) as kelurahan_code,
        unparsed(coalesce(by_code.code, by_name.code), coalesce(k.kode, k.nama))
            as kelurahan_unparsed
    from (
        select kode_kelurahan, nama_kelurahan,
            clean_text(kode_kelurahan) as kode, clean_text(nama_kelurahan) as nama
        from (select distinct kode_kelurahan, nama_kelurahan from query_table(file_rows))
    ) as k
    left join ref_area as by_code
        on by_code.level = 'kelurahan' and by_code.code = area_code_text(k.kode)
    left join ref_area_alias as by_name
        on by_name.alias_key = area_name_key(by_code.code, k.nama);

-- transfer_status: disbursement status text -> 'success' | 'failed'; NULL otherwise.
create or replace temp macro transfer_status(x) as
    case
        when upper(x) in ('SUKSES', 'BERHASIL', 'TERSALUR') then 'success'
        when upper(x) in ('GAGAL', 'RETUR', 'DIBATALKAN') then 'failed'
    end;

-- funding_code: a funding source of the input contract (APBN, APBD, DBHCHT, DAK, BAZNAS, CSR),
-- upper-cased text -> the code; NULL otherwise.
create or replace temp macro funding_code(x) as
    case when list_contains(['APBN', 'APBD', 'DBHCHT', 'DAK', 'BAZNAS', 'CSR'], x) then x end;

-- unparsed: the text of a value that could not be read (`value` NULL, `text` given) for the
-- `<column>_unparsed` columns of staging; NULL otherwise.
create or replace temp macro unparsed(value, text) as
    case when value is null then text end;

-- age_at_month_end: whole years completed by someone born on `birth` on the last day of the
-- month of `snapshot` (born on 29 February: a year older on 1 March in common years); NULL when
-- `birth` is NULL.
create or replace temp macro age_at_month_end(snapshot, birth) as
    year(last_day(snapshot)) - year(birth)
    - case
        when month(last_day(snapshot)) * 100 + day(last_day(snapshot))
            < month(birth) * 100 + day(birth)
        then 1 else 0
    end;

-- ---------------------------------------------------------------------------------------------
-- Acceptance rules (transforms/accept/).

-- malformed_reasons: the only reason of a malformed raw line: `encoding_invalid` when the reader
-- rejected it because its bytes do not decode (the reason is among `row_reasons`), else
-- `row_malformed`.
create or replace temp macro malformed_reasons(row_reasons) as
    case when list_contains(row_reasons, 'encoding_invalid') then ['encoding_invalid']
         else ['row_malformed'] end;

-- member_key: a member's natural key beside snapshot and ID_KELUARGA: its NIK, or, when the NIK
-- is null (flagged), the NIK as read (`ids_as_read`, '' when empty) with a digest of all of its
-- values (`vals`), so distinct people without a valid NIK stay distinct and an exact repeat of
-- one is still a duplicate.
create or replace temp macro member_key(nik, ids_as_read, vals) as
    case when nik is not null then nik
         else '~' || coalesce(ids_as_read, '') || '~' || md5(cast(vals as varchar)) end;

-- member_candidate_key: member_key without the digest of the values, so computed without them:
-- a key that starts with `~` up to its last `~`, any other key whole. A function of member_key,
-- so members of equal keys have equal candidate keys (registry_decision reads the values only of
-- the members whose candidate key repeats).
create or replace temp macro member_candidate_key(nik, ids_as_read) as
    case when nik is null then '~' || coalesce(ids_as_read, '')
         when starts_with(nik, '~') then regexp_replace(nik, '~[^~]*$', '')
         else nik end;
