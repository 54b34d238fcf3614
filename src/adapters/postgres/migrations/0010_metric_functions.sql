-- Each error metric, defined once. Every reader (the rollups, `pulse metrics`, the report, the Grafana
-- panels, the bench) computes a metric by summing the additive terms of evaluation_terms over its rows
-- and handing the sums to one of the functions below. Sums add up across buckets, so the same functions
-- work on hourly or daily aggregates of these terms.
--
--   metric            function                                   terms summed
--   MAE               pulse_mae(Σ|e|, n)                         abs_error, count(*)
--   RMSE              pulse_rmse(Σe², n)                         squared_error, count(*)
--   bias              pulse_bias(Σe, n)                          error, count(*)
--   MAPE (%)          pulse_mape(Σ|e|/y·100, n_pct)              pct_error, count(pct_error)
--   persistence MAE   pulse_mae(Σ|e_pers|, n_pers)               persistence_abs_error, count(persistence_abs_error)
--   skill             pulse_skill(Σ|e| paired, Σ|e_pers|)        skill_abs_error, persistence_abs_error
--   coverage (%)      pulse_share(n_covered, n_interval)         covered_n, interval_n
--   fallback rate (%) pulse_share(n_fallback, n)                 fallback_n, count(*)

-- The error terms of one scored forecast (e = predicted − actual).
create function pulse_pct_error(predicted double precision, actual double precision)
returns double precision language sql immutable parallel safe
as $$ select case when actual > 0 then abs(predicted - actual) / actual * 100 end $$;

create function pulse_covered(actual double precision, lower_bound double precision,
                              upper_bound double precision)
returns boolean language sql immutable parallel safe
as $$ select case when lower_bound is null or upper_bound is null then null
                  else actual between lower_bound and upper_bound end $$;

-- The metrics, from sums of terms. Each is null when its denominator is 0 (no rows, no interval, ...).
create function pulse_mae(abs_sum double precision, n double precision)
returns double precision language sql immutable parallel safe
as $$ select abs_sum / nullif(n, 0) $$;

create function pulse_rmse(squared_sum double precision, n double precision)
returns double precision language sql immutable parallel safe
as $$ select sqrt(squared_sum / nullif(n, 0)) $$;

create function pulse_bias(error_sum double precision, n double precision)
returns double precision language sql immutable parallel safe
as $$ select error_sum / nullif(n, 0) $$;

create function pulse_mape(pct_sum double precision, pct_n double precision)
returns double precision language sql immutable parallel safe
as $$ select pct_sum / nullif(pct_n, 0) $$;

-- Skill against persistence: the share of the persistence error the model removes,
-- 1 − Σ|e| / Σ|e_persistence|, over the rows where both errors exist.
create function pulse_skill(skill_abs_sum double precision, persistence_abs_sum double precision)
returns double precision language sql immutable parallel safe
as $$ select case when persistence_abs_sum > 0 then 1 - skill_abs_sum / persistence_abs_sum end $$;

-- A share in percent: coverage (covered of those with an interval), fallback rate (fallback of all).
create function pulse_share(part double precision, whole double precision)
returns double precision language sql immutable parallel safe
as $$ select 100 * part / nullif(whole, 0) $$;

-- The additive terms of every scored forecast. Sum them over any set of rows, then apply the functions.
create view evaluation_terms as
select series_id, model_version, horizon, target_hour, quality,
       error, abs_error, squared_error, pct_error, persistence_abs_error,
       -- |e| of the rows that also have a persistence error: skill compares the two over the same rows.
       case when persistence_abs_error is not null then abs_error end as skill_abs_error,
       case when covered then 1 else 0 end as covered_n,
       case when covered is not null then 1 else 0 end as interval_n,
       case when quality = 'fallback' then 1 else 0 end as fallback_n
from evaluations;

comment on column metric_rollups.skill is 'pulse_skill: 1 - sum|e| / sum|e_persistence| over rows with both';
