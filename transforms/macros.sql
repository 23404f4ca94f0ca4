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

-- ---------------------------------------------------------------------------------------------
-- Value parsers of the input contract (shared/spec/raw-extracts.md, "How values arrive").
-- Each returns NULL when the text is empty or cannot be read; staging keeps the text beside it.

-- clean_text: trimmed text with runs of spaces (incl. no-break spaces) collapsed; NULL when empty.
create or replace temp macro clean_text(s) as
    nullif(trim(regexp_replace(s, '[\s\x{00A0}\x{FEFF}]+', ' ', 'g')), '');

-- is_sci_number: text in scientific notation ("3.37501E+15", "3,37501e15").
create or replace temp macro is_sci_number(s) as
    coalesce(regexp_full_match(clean_text(s), '[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+'), false);

-- id_digits: NIK / NO_KK text -> digits. Removes spaces, dots and apostrophes; a numeric
-- spreadsheet cell ("3375011234567890.0") or scientific notation becomes the integer it holds.
create or replace temp macro id_digits(s, from_number) as
    case
        when clean_text(s) is null then null
        when is_sci_number(s) then cast(
            try_cast(try_cast(replace(clean_text(s), ',', '.') as double) as hugeint) as varchar)
        when coalesce(from_number, false) and regexp_full_match(clean_text(s), '[0-9]+\.[0-9]*')
            then split_part(clean_text(s), '.', 1)
        else nullif(regexp_replace(s, '[\s\x{00A0}\x{FEFF}.''`\x{2018}\x{2019}]', '', 'g'), '')
    end;

-- id_precision_lost: the identifier came from a numeric cell or scientific notation.
create or replace temp macro id_precision_lost(s, from_number) as
    clean_text(s) is not null and (coalesce(from_number, false) or is_sci_number(s));

-- number_core: an amount's text without currency, spaces and the ",-" / ".-" tail.
create or replace temp macro number_core(s) as
    regexp_replace(
        regexp_replace(
            regexp_replace(upper(clean_text(s)), '[\s\x{00A0}]', '', 'g'),
            '^(RP|IDR)\.?', ''),
        '[.,]-+$', '');

-- parse_number: Indonesian number text -> DECIMAL(18, 2). Dots group thousands ("600.000"),
-- the comma is the decimal mark ("600.000,00", "600000,5"); "Rp 600.000" and "Rp600.000,-";
-- a spreadsheet number ("600000.5", "1.5E+6"). NULL when unreadable.
create or replace temp macro parse_number(s) as
    try_cast(
        case
            when regexp_full_match(number_core(s), '-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?')
                then replace(replace(number_core(s), '.', ''), ',', '.')
            when regexp_full_match(number_core(s), '-?[0-9]+(,[0-9]*)?')
                then replace(number_core(s), ',', '.')
            when regexp_full_match(number_core(s), '-?[0-9]*\.[0-9]+')
                then number_core(s)
            when regexp_full_match(number_core(s), '-?[0-9]+([.,][0-9]+)?E[+-]?[0-9]+')
                then cast(try_cast(replace(number_core(s), ',', '.') as double) as varchar)
        end as decimal(18, 2));

-- parse_code: a coded value ("1", "01", "001", a numeric cell "1.0") -> INTEGER; NULL otherwise.
create or replace temp macro parse_code(s) as
    case when regexp_full_match(clean_text(s), '[0-9]{1,4}(\.0*)?')
         then cast(split_part(clean_text(s), '.', 1) as integer) end;

-- parse_sex: 1/L/LAKI-LAKI -> 'L', 2/P/PEREMPUAN -> 'P' (any case); NULL otherwise.
create or replace temp macro parse_sex(s) as
    case
        when upper(regexp_replace(clean_text(s), '[\s\-.]', '', 'g'))
             in ('1', '01', 'L', 'LK', 'LAKILAKI', 'LAKI', 'LAKI2', 'PRIA') then 'L'
        when upper(regexp_replace(clean_text(s), '[\s\-.]', '', 'g'))
             in ('2', '02', 'P', 'PR', 'PEREMPUAN', 'WANITA') then 'P'
    end;

-- month_number: Indonesian (or English) month name or abbreviation -> 1..12; NULL otherwise.
create or replace temp macro month_number(name) as
    map {
        'JANUARI': 1, 'JANUARY': 1, 'JAN': 1,
        'FEBRUARI': 2, 'PEBRUARI': 2, 'FEBRUARY': 2, 'FEB': 2, 'PEB': 2,
        'MARET': 3, 'MARCH': 3, 'MAR': 3,
        'APRIL': 4, 'APR': 4,
        'MEI': 5, 'MAY': 5,
        'JUNI': 6, 'JUNE': 6, 'JUN': 6,
        'JULI': 7, 'JULY': 7, 'JUL': 7,
        'AGUSTUS': 8, 'AUGUST': 8, 'AGU': 8, 'AGT': 8, 'AGS': 8, 'AGUS': 8, 'AUG': 8,
        'SEPTEMBER': 9, 'SEPT': 9, 'SEP': 9,
        'OKTOBER': 10, 'OCTOBER': 10, 'OKT': 10, 'OCT': 10,
        'NOVEMBER': 11, 'NOPEMBER': 11, 'NOV': 11, 'NOP': 11,
        'DESEMBER': 12, 'DECEMBER': 12, 'DES': 12, 'DEC': 12
    }[upper(name)];

-- plausible_date: a date between 1800 and 2200, else NULL (typos such as year 0202 or 20026).
create or replace temp macro plausible_date(d) as
    case when d between date '1800-01-01' and date '2200-12-31' then d end;

-- parse_date: a date in any contract format -> DATE, day first always; NULL when unreadable or
-- impossible (31/02). ISO "2026-06-26" (with an optional time), "26/06/2026", "26-06-2026",
-- "26.06.2026", "26 Juni 2026", "26 Jun 2026" (Agu, Agt, Des ...), a spreadsheet serial number.
create or replace temp macro parse_date(s) as
    plausible_date(cast(
        case
            when regexp_full_match(upper(clean_text(s)), '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T].*)?')
                then try_strptime(
                    regexp_extract(clean_text(s), '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}'), '%Y-%m-%d')
            when regexp_full_match(clean_text(s), '[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{4}( .*)?')
                then try_strptime(
                    regexp_replace(
                        regexp_extract(clean_text(s), '^[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{4}'),
                        '[/.\-]', '-', 'g'),
                    '%d-%m-%Y')
            when regexp_full_match(clean_text(s), '[0-9]{1,2}[ \-]+[A-Za-z]+\.?[ \-]+[0-9]{4}')
                then try_strptime(
                    regexp_extract(clean_text(s), '^([0-9]{1,2})', 1) || '-'
                    || month_number(regexp_extract(clean_text(s), '([A-Za-z]+)', 1)) || '-'
                    || regexp_extract(clean_text(s), '([0-9]{4})$', 1),
                    '%d-%m-%Y')
            when regexp_full_match(clean_text(s), '[0-9]{5}(\.[0-9]*)?')
                then date '1899-12-30' + cast(split_part(clean_text(s), '.', 1) as integer)
        end as date));

-- area_code_text: a Kemendagri kelurahan code, plain ("3375011002", a numeric cell
-- "3375011002.0") or dotted ("33.75.01.1002") -> dotted text; NULL when not code-shaped.
create or replace temp macro area_code_text(s) as
    case
        when regexp_full_match(regexp_replace(clean_text(s), '\s', '', 'g'),
                               '[0-9]{2}\.?[0-9]{2}\.?[0-9]{2}\.?[0-9]{4}(\.0+)?')
        then regexp_replace(
            left(regexp_replace(regexp_replace(clean_text(s), '\.0+$', ''), '[^0-9]', '', 'g'), 10),
            '^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{4})$', '\1.\2.\3.\4')
    end;

-- transfer_status: disbursement status text -> 'success' | 'failed'; NULL otherwise.
create or replace temp macro transfer_status(s) as
    case
        when upper(clean_text(s)) in ('SUKSES', 'BERHASIL', 'TERSALUR') then 'success'
        when upper(clean_text(s)) in ('GAGAL', 'RETUR', 'DIBATALKAN') then 'failed'
    end;
