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
-- (verivali.KIND_TEXT, verivali.REASON_TEXT). Texts the macro would copy unescaped are put in
-- the cell as they are: the period (digits and '-') and the words for the codes, which need no
-- escaping (tests/test_verivali.py checks them); a code without words is escaped. The columns
-- of few distinct texts (file, column, value as read) have their cells' ends
-- (xlsx_inline_tail) made once per distinct text and joined back.
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
        $kind_texts[list_position($kinds, kind)] as kind_text,
        coalesce(kind, '') as kind,
        coalesce(strftime(period, '%Y-%m'), '') as period,
        coalesce(column_name, '') as column_name,
        $reason_texts[list_position($reasons, reason)] as reason_text,
        coalesce(reason, '') as reason,
        coalesce(raw_value, '') as raw_value,
        coalesce(household_pseudonym, '') as household_pseudonym
    from flagged
),

short_texts as (
    select distinct coalesce(file, '') as s from read_parquet($source)
    union
    select distinct coalesce(column_name, '') from read_parquet($source)
    union
    select distinct coalesce(raw_value, '') from read_parquet($source)
),

tails as (
    select s, xlsx_inline_tail(s) as tail from short_texts
),

xml_rows as (
    select
        kelurahan_code,
        kelurahan_name,
        line,
        concat(
            '<row r="', r, '"><c r="A', r, '"><v>', line, '</v></c>',
            '<c r="B', r, '" t="inlineStr"><is><t', file_tail.tail,
            case when source_row is not null
                then concat('<c r="C', r, '"><v>', source_row, '</v></c>') else '' end,
            case when kind_text is not null
                then concat('<c r="D', r, '" t="inlineStr"><is><t>', kind_text, '</t></is></c>')
                else xlsx_inline_string(concat('D', r), kind) end,
            concat('<c r="E', r, '" t="inlineStr"><is><t>', period, '</t></is></c>'),
            '<c r="F', r, '" t="inlineStr"><is><t', column_tail.tail,
            case when reason_text is not null
                then concat('<c r="G', r, '" t="inlineStr"><is><t>', reason_text, '</t></is></c>')
                else xlsx_inline_string(concat('G', r), reason) end,
            '<c r="H', r, '" t="inlineStr"><is><t', value_tail.tail,
            xlsx_inline_string(concat('I', r), household_pseudonym),
            '</row>'
        ) as xml
    from texts
    join tails file_tail on file_tail.s = texts.file
    join tails column_tail on column_tail.s = texts.column_name
    join tails value_tail on value_tail.s = texts.raw_value
),

final as (
    select kelurahan_code, kelurahan_name, line, xml from xml_rows
)

select * from final
order by kelurahan_code nulls last, kelurahan_name nulls last, line
