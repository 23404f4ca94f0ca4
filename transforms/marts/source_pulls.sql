/* MODEL (
    kind full,
    grain (run_id, source, remote_path, pulled_at)
) */
-- source_pulls: every pull of an extract from a configured source (tkpk pull, the nightly flow).
-- Grain: one row per (run_id, source, remote_path, pulled_at): source_pull_log of all pulls, a
-- file that landed (pulled / renamed), was already held (unchanged / already_present), changed
-- while it was downloaded (unstable), or a source that could not be pulled (failed; remote_path
-- is then the source's URL). URLs carry no user name or password; reasons no message text.
with

source as (
    select * from source_pull_log
),

final as (
    select
        run_id,
        source,
        remote_path,
        size,
        remote_modified,
        sha256,
        pulled_at,
        outcome,
        local_name,
        reason
    from source
    order by run_id, source, remote_path, pulled_at
)

select * from final
