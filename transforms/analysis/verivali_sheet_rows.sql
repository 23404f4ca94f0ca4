-- verivali_sheet_rows: the data rows of the kelurahan verification workbooks as worksheet XML
-- (tkpk/publish/verivali.py splices them into the workbook xlsxwriter writes with the title and
-- the headings: 644k flagged fields are a few seconds here, half a minute cell by cell).
-- Grain: one row per line of a workbook (kelurahan; the records that name none last), in
-- workbook order then line order (verivali_flagged_fields' order; $source: the staged
-- data_quality_field.parquet); verivali.py writes each workbook's lines as they come (the
-- Arrow bytes of the xml column, no string per line in Python).
-- Cells as xlsxwriter writes them (the macro xlsx_inline_string, transforms/publish/macros.sql:
-- numbers as <v>, text as inline strings, XML-escaped). $first: the 0-based row of the
-- headings; $kinds/$kind_texts and $reasons/$reason_texts: the words for the codes
-- (verivali.KIND_TEXT, verivali.REASON_TEXT).
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
        cast($first + line + 1 as varchar) as r,
        row_number as source_row,
        coalesce(file, '') as file,
        coalesce($kind_texts[list_position($kinds, kind)], kind, '') as kind,
        coalesce(strftime(period, '%Y-%m'), '') as period,
        coalesce(column_name, '') as column_name,
        coalesce($reason_texts[list_position($reasons, reason)], reason, '') as reason,
        coalesce(raw_value, '') as raw_value,
        coalesce(household_pseudonym, '') as household_pseudonym
    from flagged
),

xml_rows as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        concat(
            '<row r="', r, '"><c r="A', r, '"><v>', line, '</v></c>',
            xlsx_inline_string(concat('B', r), file),
            case when source_row is not null
                then concat('<c r="C', r, '"><v>', source_row, '</v></c>') else '' end,
            xlsx_inline_string(concat('D', r), kind),
            xlsx_inline_string(concat('E', r), period),
            xlsx_inline_string(concat('F', r), column_name),
            xlsx_inline_string(concat('G', r), reason),
            xlsx_inline_string(concat('H', r), raw_value),
            xlsx_inline_string(concat('I', r), household_pseudonym),
            '</row>'
        ) as xml
    from texts
),

final as (
    select kelurahan_code, kelurahan_name, line, xml from xml_rows
)

select * from final
order by kelurahan_code nulls last, kelurahan_name nulls last, line
