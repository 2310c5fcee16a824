//! Runs the conversation core for one channel: loads the chat's binding and
//! dialogue state, feeds [`crate::core::step`], applies its effects in
//! PostgreSQL and stores the next state in Redis. Channel adapters
//! (Telegram today; WeChat or SMS later) call [`Conversations::handle`] with
//! an [`Input`] and render the replies; they never touch the core's rules.

use crate::core::{self, Ctx, Dialogue, Effect, Input, JobView, OfferView, Outcome, Reply, StatusView};
use crate::shared::Shared;
use crate::survey::{Income, Survey};
use app::Services;
use diesel::PgConnection;
use std::sync::Arc;
use store::StoreError;
use store::chats::PhoneBinding;
use store::monitoring::SurveyAnswer;
use store::offers::OfferAnswer;
use store::placements::CheckinAnswer;
use uuid::Uuid;

/// What an adapter must do after an input.
#[derive(Debug, Default)]
pub struct Handled {
    pub replies: Vec<Reply>,
    /// Remove the buttons of the message whose button was pressed.
    pub close_buttons: bool,
}

pub struct Conversations {
    pub state: Services,
    pub shared: Arc<Shared>,
    pub channel: &'static str,
}

impl Conversations {
    pub fn new(state: Services, shared: Arc<Shared>, channel: &'static str) -> Self {
        Self { state, shared, channel }
    }

    async fn db<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
    {
        self.state.db(f).await
    }

    /// One input from one chat: the replies to send.
    pub async fn handle(&self, chat_id: &str, input: Input) -> Handled {
        let channel = self.channel;
        let chat = chat_id.to_owned();
        let binding = self
            .db(move |conn| {
                store::chats::mark_reachable(conn, channel, &chat)?;
                store::chats::chat(conn, channel, &chat)
            })
            .await;
        let mut binding = match binding {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "bot: cannot read the chat's binding");
                return Handled { replies: vec![Reply::text(core::text::BUSY)], close_buttons: false };
            }
        };
        let mut state = match self.shared.load_dialogue(channel, chat_id).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "bot: cannot read the dialogue state; starting afresh");
                Dialogue::Idle
            }
        };
        let today = domain::calendar::today_in_china(chrono::Utc::now());
        let mut out = Handled::default();
        let mut input = input;
        for _ in 0..4 {
            let ctx = Ctx {
                today,
                bound: binding.is_some(),
                stopped: binding.as_ref().is_some_and(|b| b.stopped_at.is_some()),
            };
            let step = core::step(&state, input, &ctx);
            out.replies.extend(step.replies);
            out.close_buttons |= step.close_buttons;
            state = step.next;
            let Some(effect) = step.effect else { break };
            let outcome = self.apply(chat_id, binding.as_ref().map(|b| b.worker_id), effect).await;
            if matches!(outcome, Outcome::Bound | Outcome::Unbound { .. }) {
                let (channel, chat) = (self.channel, chat_id.to_owned());
                binding = self.db(move |conn| store::chats::chat(conn, channel, &chat)).await.unwrap_or(None);
            }
            input = Input::Outcome(outcome);
        }
        if let Err(e) = self.shared.save_dialogue(channel, chat_id, &state).await {
            tracing::warn!(error = %e, "bot: cannot store the dialogue state");
        }
        out
    }

    async fn apply(&self, chat_id: &str, worker: Option<Uuid>, effect: Effect) -> Outcome {
        let channel = self.channel;
        let chat = chat_id.to_owned();
        let vault = self.state.vault.clone();
        let today = domain::calendar::today_in_china(chrono::Utc::now());
        let r: Result<Outcome, StoreError> = match effect {
            Effect::BindByPhone { phone } => match domain::Phone::parse(&phone) {
                Err(_) => Ok(Outcome::UnknownPhone),
                Ok(p) => {
                    self.db(move |conn| store::chats::bind_by_phone(conn, &vault, channel, &chat, &p)).await.map(|b| {
                        match b {
                            PhoneBinding::Bound(_) => Outcome::Bound,
                            PhoneBinding::Unknown => Outcome::UnknownPhone,
                            PhoneBinding::Ambiguous => Outcome::AmbiguousPhone,
                        }
                    })
                }
            },
            Effect::BindByCode { code } => self
                .db(move |conn| store::chats::bind_by_code(conn, &vault, channel, &chat, &code))
                .await
                .map(|w| if w.is_some() { Outcome::Bound } else { Outcome::CodeInvalid }),
            Effect::Unbind => self
                .db(move |conn| store::chats::unbind(conn, channel, &chat))
                .await
                .map(|was_bound| Outcome::Unbound { was_bound }),
            Effect::SetPushes { on } => self
                .db(move |conn| store::chats::set_pushes(conn, channel, &chat, on))
                .await
                .map(|_| Outcome::PushesSet { on }),
            other => {
                let Some(worker) = worker else { return Outcome::Failed };
                self.apply_for(worker, other, today).await
            }
        };
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "bot: an effect failed");
            Outcome::Failed
        })
    }

    async fn apply_for(&self, worker: Uuid, effect: Effect, today: chrono::NaiveDate) -> Result<Outcome, StoreError> {
        match effect {
            Effect::AcceptOffer { offer_id } => {
                self.db(move |conn| store::offers::accept_offer(conn, worker, offer_id)).await.map(|a| match a {
                    OfferAnswer::Recorded { title, employer } => Outcome::OfferAccepted { title, employer },
                    OfferAnswer::Closed(s) => Outcome::OfferClosed(s),
                    OfferAnswer::NotFound => Outcome::OfferNotFound,
                })
            }
            Effect::DeclineOffer { offer_id, reason } => self
                .db(move |conn| store::offers::decline_offer(conn, worker, offer_id, reason.map(|r| r.as_str())))
                .await
                .map(|a| match a {
                    OfferAnswer::Recorded { .. } => Outcome::OfferDeclined { with_reason: reason.is_some() },
                    OfferAnswer::Closed(s) => Outcome::OfferClosed(s),
                    OfferAnswer::NotFound => Outcome::OfferNotFound,
                }),
            Effect::LoadOffer { offer_id } => self
                .db(move |conn| store::offers::offer_card(conn, worker, offer_id))
                .await
                .map(|c| c.map(|c| Outcome::Offer(offer_view(&c))).unwrap_or(Outcome::OfferNotFound)),
            Effect::CheckinStill { placement_id } => self
                .db(move |conn| store::placements::checkin_still(conn, worker, placement_id, today))
                .await
                .map(|a| match a {
                    CheckinAnswer::Recorded => Outcome::CheckinRecorded,
                    CheckinAnswer::Closed => Outcome::CheckinClosed,
                    CheckinAnswer::BadDate => Outcome::CheckinClosed,
                }),
            Effect::CheckinLeft { placement_id, on, reason, changed_job } => self
                .db(move |conn| {
                    store::placements::checkin_left(conn, worker, placement_id, on, &reason, changed_job, today)
                })
                .await
                .map(|a| match a {
                    CheckinAnswer::Recorded => Outcome::Separated { changed_job },
                    CheckinAnswer::Closed => Outcome::CheckinClosed,
                    CheckinAnswer::BadDate => Outcome::CheckinBadDate,
                }),
            Effect::LoadJobs { page } => self.jobs(worker, page.min(20), today).await,
            Effect::LoadStatus => self
                .db(move |conn| store::offers::status(conn, worker))
                .await
                .map(|s| Outcome::Status(StatusView { offers: s.offers, placements: s.placements })),
            Effect::RecordSurvey { survey, income } => {
                let period = survey.period;
                let Some(answer) = survey_answer(worker, &survey, income) else { return Ok(Outcome::Failed) };
                self.db(move |conn| store::monitoring::record_survey(conn, period, &answer, today)).await.map(|a| {
                    match a {
                        SurveyAnswer::Recorded => Outcome::SurveyRecorded { period },
                        SurveyAnswer::Closed => Outcome::SurveyClosed,
                    }
                })
            }
            Effect::BindByPhone { .. } | Effect::BindByCode { .. } | Effect::Unbind | Effect::SetPushes { .. } => {
                Ok(Outcome::Failed)
            }
        }
    }

    /// `/jobs`: the matcher's recommendations, job-fit reasons only.
    async fn jobs(&self, worker: Uuid, page: u32, today: chrono::NaiveDate) -> Result<Outcome, StoreError> {
        let cell = self.state.matcher.clone();
        let pool = self.state.pool.clone();
        let per = core::JOBS_PER_PAGE;
        let want = (page as usize + 1) * per + 1;
        self.db(move |conn| {
            let m = cell.get(&pool)?;
            m.catch_up(&pool)?;
            let ranked: Vec<(Uuid, Vec<String>)> = app::matching::recommend_jobs(&m, conn, worker, want, today)?
                .into_iter()
                .map(|r| {
                    (r.scored.job_id, r.scored.reasons.iter().filter(|x| x.job_fit).map(|x| x.text.clone()).collect())
                })
                .collect();
            let more = ranked.len() > (page as usize + 1) * per;
            let slice: Vec<(Uuid, Vec<String>)> = ranked.into_iter().skip(page as usize * per).take(per).collect();
            let ids: Vec<Uuid> = slice.iter().map(|(id, _)| *id).collect();
            let lines = store::jobs::job_lines(conn, &ids)?;
            let items = lines
                .into_iter()
                .map(|l| {
                    let reasons =
                        slice.iter().find(|(id, _)| *id == l.job_id).map(|(_, r)| r.clone()).unwrap_or_default();
                    JobView {
                        title: l.title,
                        employer: l.employer,
                        place: l.place,
                        wage_min: l.wage_min,
                        wage_max: l.wage_max,
                        reasons: reasons.into_iter().take(2).collect(),
                    }
                })
                .collect();
            Ok(Outcome::Jobs { page, items, more })
        })
        .await
    }
}

/// A finished survey as the monitoring round's answer (source `bot`);
/// `None` when it has no status (the core never asks to record one).
pub fn survey_answer(worker: Uuid, s: &Survey, income: Income) -> Option<store::monitoring::Answer> {
    let (monthly_income, income_band) = match income {
        Income::Amount(yuan) => (Some(yuan), None),
        Income::Band(b) => (None, Some(b.as_str().to_owned())),
        Income::NotGiven => (None, None),
    };
    Some(store::monitoring::Answer {
        worker_id: worker,
        employment_status: s.status?.as_str().to_owned(),
        work_place: s.place.map(|p| p.as_str().to_owned()),
        work_province_code: s.province.map(crate::survey::province_code),
        industry: s.industry.map(|i| i.stored().to_owned()),
        monthly_income,
        income_band,
        source: "bot",
    })
}

/// The core's view of an offer card.
pub fn offer_view(c: &store::offers::OfferCard) -> OfferView {
    OfferView {
        offer_id: c.offer_id,
        title: c.title.clone(),
        employer: c.employer.clone(),
        place: c.place.clone(),
        cross_province: c.province_code != domain::division::GUIZHOU,
        wage_min: c.wage_min,
        wage_max: c.wage_max,
        contract_months: c.contract_months,
        description: c.description.clone(),
    }
}
