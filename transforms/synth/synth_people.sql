-- synth_people: the synthetic persons with their names (tkpk synth; tkpk/synth/generator.py).
-- Grain: one row per person of people_src (registry persons, then outsiders: pid, nik, sex,
-- birth, first, second, titled). The name: a first name from pool_male / pool_female (by sex,
-- index first modulo the pool size), a second name for 7 in 10 persons (from pool_second), and
-- for titled persons an academic title from $titles.
-- Parameters: $titles (VARCHAR[]), $male_count, $female_count, $second_count (pool sizes).
with

final as (
    select
        s.pid,
        s.nik,
        s.sex,
        s.birth,
        case when s.sex = 2 then f.w else m.w end
        || case when (s.second >> 20) % 10 < 7 then ' ' || sc.w else '' end
        || case when s.titled then list_extract($titles, (s.first % 4)::bigint + 1)
            else '' end as name
    from people_src as s
    join pool_male as m on m.i = s.first % $male_count
    join pool_female as f on f.i = s.first % $female_count
    join pool_second as sc on sc.i = s.second % $second_count
)

select * from final
