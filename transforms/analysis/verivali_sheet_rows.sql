-- verivali_sheet_rows: the data rows of the kelurahan verification workbooks as worksheet XML
-- (tkpk/publish/verivali.py splices them into the workbook xlsxwriter writes with the title and
-- the headings: 644k flagged fields are a few seconds here, half a minute cell by cell).
-- Grain: one row per line of a workbook (kelurahan; the records that name none last), in
-- workbook order then line order (verivali_flagged_fields' order; $source: the staged
-- data_quality_field.parquet); verivali.py joins each workbook's lines (cheaper than an ordered
-- string_agg here).
-- Cells as xlsxwriter writes them: numbers as <v>, text as inline strings, XML-escaped (& < >),
-- control characters as _xHHHH_ and a literal _xHHHH_ as _x005F_xHHHH_, xml:space="preserve"
-- on text with leading or trailing white space. $first: the 0-based row of the headings;
-- $kinds/$kind_texts and $reasons/$reason_texts: the words for the codes (verivali.KIND_TEXT,
-- verivali.REASON_TEXT).
with

flagged as (
    select
        *,
        row_number() over (
            partition by kelurahan_code, kelurahan_name
            order by file, row_number, column_name, reason
        ) as line
    from read_parquet($source)
),

texts as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        row_number as source_row,
        [
            coalesce(file, ''),
            coalesce($kind_texts[list_position($kinds, kind)], kind, ''),
            coalesce(strftime(period, '%Y-%m'), ''),
            coalesce(column_name, ''),
            coalesce($reason_texts[list_position($reasons, reason)], reason, ''),
            coalesce(raw_value, ''),
            coalesce(household_pseudonym, '')
        ] as strings
    from flagged
),

escaped as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        source_row,
        list_transform(strings, lambda s: struct_pack(
            text := replace(replace(replace(
                case
                    when regexp_matches(s, '[\x01-\x08\x0B-\x1F]|_x[0-9a-fA-F]{4}_')
                    then list_reduce(
                        [c for c in range(1, 32) if c not in (9, 10)],
                        lambda acc, c: replace(acc, chr(c::integer), printf('_x%04X_', c)),
                        regexp_replace(s, '(_x[0-9a-fA-F]{4}_)', '_x005F\1', 'g')
                    )
                    else s
                end, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
            space := regexp_matches(s, '^\s|\s$')
        )) as strings
    from texts
),

cells as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        $first + line + 1 as r,
        source_row,
        list_transform(
            list_zip(['B', 'D', 'E', 'F', 'G', 'H', 'I'], strings),
            lambda c: '<c r="' || c[1] || ($first + line + 1) || '" t="inlineStr"><is><t'
                || case when c[2].space then ' xml:space="preserve"' else '' end
                || '>' || c[2].text || '</t></is></c>'
        ) as text_cells
    from escaped
),

xml_rows as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        '<row r="' || r || '"><c r="A' || r || '"><v>' || line || '</v></c>'
            || text_cells[1]
            || coalesce('<c r="C' || r || '"><v>' || source_row || '</v></c>', '')
            || array_to_string(text_cells[2:], '')
            || '</row>' as xml
    from cells
),

final as (
    select kelurahan_code, kelurahan_name, line, xml from xml_rows
)

select * from final
order by kelurahan_code nulls last, kelurahan_name nulls last, line
