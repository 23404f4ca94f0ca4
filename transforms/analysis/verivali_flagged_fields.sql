-- verivali_flagged_fields: the lines of the kelurahan verification workbooks (verivali/*.xlsx of
-- the restricted pack; tkpk/publish/verivali.py).
-- Grain: one row per flagged field of the staged restricted pack's data_quality_field.parquet
-- ($source: its path), ordered by kelurahan (none last), file, row number, column and reason;
-- period as YYYY-MM; pseudonyms only.
with

flagged as (
    select * from read_parquet($source)
),

final as (
    select
        kelurahan_code,
        kelurahan_name,
        file,
        row_number,
        kind,
        strftime(period, '%Y-%m') as period,
        column_name,
        reason,
        raw_value,
        household_pseudonym
    from flagged
)

select * from final
order by kelurahan_code nulls last, file, row_number, column_name, reason
