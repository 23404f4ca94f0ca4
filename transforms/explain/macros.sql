-- explain macros: loaded by tkpk explain before the explain SQL runs (temporary, this connection).
--
-- record_lineage(program, funding_source, status, record_period, kelurahan_code): which program
-- records make a unit, as the unit's `records` column read by lineage.sql. A NULL argument
-- means any; record_period and kelurahan_code select unmatched records (a unit without a
-- household). no_record_lineage(): a unit made of registry rows only.
create or replace temp macro record_lineage(
    program, funding_source, status, record_period, kelurahan_code
) as struct_pack(
    program := cast(program as varchar),
    funding_source := cast(funding_source as varchar),
    status := cast(status as varchar),
    record_period := cast(record_period as date),
    kelurahan_code := cast(kelurahan_code as varchar)
);

create or replace temp macro no_record_lineage() as cast(null as struct(
    program varchar, funding_source varchar, status varchar, record_period date,
    kelurahan_code varchar
));
