//! The workers' Telegram bot (#6), end to end: the real teloxide client
//! against a fake Bot API server, the real app, PostgreSQL and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use bot::dispatch::DispatchConfig;
use bot::telegram::{BotHandle, Parts, TelegramConfig};
use diesel::prelude::*;
use qianlink_tests::fake_telegram::{Call, Fail, FakeTelegram, button, buttons, text_of};
use qianlink_tests::{TestApp, eventually, eventually_within, id_number, json, worker_json};
use serde_json::json;
use std::time::Duration;
use store::audit::Actor;
use uuid::Uuid;

const XINGYI: &str = "522301";
const DONGGUAN: &str = "441900";

struct World {
    app: TestApp,
    tg: FakeTelegram,
    county: String,
    employer: String,
    employer_id: Uuid,
    bot: Option<BotHandle>,
    /// ID and phone numbers that must never reach Telegram.
    secrets: Vec<String>,
}

async fn world() -> World {
    world_with(qianlink_tests::Overrides::default()).await
}

async fn world_with(o: qianlink_tests::Overrides) -> World {
    let app = TestApp::spawn_with(o).await;
    let (_, county) = app.org("兴义市就业局", "county_office", Some(XINGYI)).await;
    let (employer_id, employer) = app.org("兴义顺达电子厂", "employer", None).await;
    let tg = FakeTelegram::start().await;
    World { app, tg, county, employer, employer_id: Uuid::parse_str(&employer_id).unwrap(), bot: None, secrets: vec![] }
}

fn config(tg: &FakeTelegram) -> TelegramConfig {
    TelegramConfig {
        token: tg.token.clone(),
        api_url: Some(tg.url.clone()),
        webhook: None,
        dispatch: DispatchConfig { idle_poll: Duration::from_millis(100), ..Default::default() },
        backoff: bot::telegram::Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_millis(400),
            probe: Duration::from_millis(500),
        },
    }
}

impl World {
    async fn start(&mut self) {
        self.bot = Some(bot::telegram::start(self.app.state.services.clone(), config(&self.tg)).await.unwrap());
    }

    async fn stop(&mut self) {
        if let Some(b) = self.bot.take() {
            b.stop().await;
        }
    }

    /// A worker in the ledger: (id, phone).
    async fn worker(&mut self, seq: u32) -> (Uuid, String) {
        let idn = id_number(XINGYI, "19900101", seq);
        let body = worker_json(&idn, XINGYI, &format!("HH-{seq}"), "unemployed");
        let phone = body["phone"].as_str().unwrap().to_owned();
        let res = self.app.post_as(&self.county, "/v1/workers").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let id = json(res).await["id"].as_str().unwrap().to_owned();
        self.secrets.push(idn);
        self.secrets.push(phone.clone());
        (Uuid::parse_str(&id).unwrap(), phone)
    }

    async fn job(&self, title: &str, county: &str) -> Uuid {
        let j = json!({"title": title, "description": "流水线装配，包吃包住", "skills": ["装配"],
                       "work_county_code": county, "wage_min": 4500, "wage_max": 6000, "openings": 5,
                       "contract_months": 12});
        let res = self.app.post_as(&self.employer, "/v1/jobs").json(&j).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap()
    }

    /// Queue an offer the way the matcher does (the bot's push is written in the same transaction).
    fn offer(&self, job: Uuid, worker: Uuid) -> Option<Uuid> {
        let mut conn = self.app.conn();
        let new = store::matching::NewOffer { job_id: job, worker_id: worker, score: 50.0, reasons: json!([]) };
        store::matching::queue(&mut conn, &[new], 10, 10, None, &Actor::system()).unwrap().first().map(|o| o.id)
    }

    fn placement(&self, worker: Uuid, employer: Uuid, start: chrono::NaiveDate) -> Uuid {
        let mut conn = self.app.conn();
        let p = store::placements::NewPlacement {
            worker_id: worker,
            job_id: None,
            employer_org_id: employer,
            broker_org_id: None,
            start_date: start,
            contract_months: 12,
            work_county_code: XINGYI.into(),
            organised_by: "self".into(),
        };
        store::placements::create(&mut conn, &p, employer, &Actor::system()).unwrap().id
    }

    /// /start → 同意 → own contact → bound.
    async fn bind(&self, chat: i64, phone: &str) {
        self.tg.text(chat, "/start");
        let consent = self.tg.wait_for(chat, "您同意吗").await;
        self.tg.press(chat, consent.message_id.unwrap(), &button(&consent, "同意"));
        self.tg.wait_for(chat, "分享我的手机号").await;
        self.tg.contact(chat, phone, Some(chat));
        self.tg.wait_for(chat, "绑定成功").await;
    }

    fn sql(&self, q: &str) -> Vec<Row> {
        diesel::sql_query(q).load(&mut self.app.conn()).unwrap()
    }

    /// No message ever carries an ID number or a phone number.
    fn assert_clean(&self) {
        for c in self.tg.calls() {
            let body = c.body.to_string();
            for s in &self.secrets {
                assert!(!body.contains(s.as_str()), "a secret reached Telegram in {}: {body}", c.method);
            }
            if c.method == "sendmessage" {
                let t = text_of(&c);
                assert_eq!(bot::core::scrub(&t), t, "an ID-like or phone-like number in {t:?}");
            }
        }
    }
}

#[derive(QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    a: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    b: Option<String>,
}

fn chat_rows(w: &World) -> Vec<Row> {
    w.sql("SELECT chat_id AS a, worker_id::text AS b FROM bot_chats ORDER BY chat_id")
}

fn offer_status(w: &World, offer: Uuid) -> (String, Option<String>) {
    let r: Vec<Row> = w.sql(&format!("SELECT status AS a, decline_reason AS b FROM offers WHERE id = '{offer}'"));
    (r[0].a.clone(), r[0].b.clone())
}

/// `/help` posted to the registered webhook with Telegram's secret header is
/// taken (200) and answered through the Bot API.
async fn help_through_the_webhook(w: &World, chat: i64) {
    let (url, secret) = w.tg.webhook().expect("a webhook is registered");
    let res = reqwest::Client::new()
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", &secret)
        .json(&w.tg.text_update(chat, "/help"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    w.tg.wait_for(chat, "黔联可以帮您").await;
}

/// Nothing in the queue may go out now: the dispatcher's own claim (bound
/// chats that take pushes, due rows) finds no row. Deterministic, where a
/// fixed wait for "nothing sent" would only hope the dispatcher had looked.
fn claim_finds_nothing(w: &World) -> bool {
    store::push_queue::claim(&mut w.app.conn(), "telegram", 100).unwrap().is_empty()
}

#[tokio::test]
async fn binding_by_own_contact_refuses_a_foreign_one_and_unknown_numbers() {
    let mut w = world().await;
    let (worker, phone) = w.worker(101).await;
    w.start().await;
    let chat = 7001;
    w.tg.text(chat, "/start");
    let consent = w.tg.wait_for(chat, "您同意吗").await;
    let t = text_of(&consent);
    assert!(t.contains("保存") && t.contains("不会在这里向您索要或发送身份证号"), "{t}");
    assert_eq!(buttons(&consent).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["同意", "不同意"]);
    w.tg.press(chat, consent.message_id.unwrap(), &button(&consent, "同意"));
    let ask = w.tg.wait_for(chat, "分享我的手机号").await;
    assert_eq!(ask.body["reply_markup"]["keyboard"][0][0]["request_contact"], true, "{:?}", ask.body);
    // The consent message lost its buttons once answered.
    eventually("the consent buttons removed", async || {
        w.tg.calls()
            .iter()
            .any(|c| c.method == "editmessagereplymarkup" && c.body["message_id"] == consent.message_id.unwrap())
    })
    .await;
    // A forwarded contact of someone else (even with the right number) is refused.
    w.tg.contact(chat, &phone, Some(9999));
    w.tg.wait_for(chat, "只能绑定您本人的手机号").await;
    w.tg.contact(chat, &phone, None);
    w.tg.wait_nth(chat, "只能绑定您本人的手机号", 2).await;
    assert!(chat_rows(&w).is_empty());
    // Their own contact binds.
    w.tg.contact(chat, &format!("+86{phone}"), Some(chat));
    w.tg.wait_for(chat, "绑定成功").await;
    let rows = chat_rows(&w);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].a.as_str(), rows[0].b.clone()), ("7001", Some(worker.to_string())));
    // An unknown number gets a polite answer on how to register.
    let other = 7002;
    w.tg.text(other, "/start");
    let c2 = w.tg.wait_for(other, "您同意吗").await;
    w.tg.press(other, c2.message_id.unwrap(), &button(&c2, "同意"));
    w.tg.wait_for(other, "分享我的手机号").await;
    w.tg.contact(other, "13912345678", Some(other));
    let unknown = w.tg.wait_for(other, "没有找到这个手机号").await;
    assert!(text_of(&unknown).contains("安置点"));
    assert_eq!(chat_rows(&w).len(), 1);
    // /unbind forgets the chat.
    w.tg.text(chat, "/unbind");
    w.tg.wait_for(chat, "已解除绑定").await;
    assert!(chat_rows(&w).is_empty());
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn binding_by_one_time_code() {
    let mut w = world().await;
    let (worker, _) = w.worker(103).await;
    w.start().await;
    let res = w.app.post_as(&w.county, &format!("/v1/workers/{worker}/binding-code")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let out = json(res).await;
    let code = out["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 10);
    assert_eq!(out["deep_link"], format!("https://t.me/qianlink_test_bot?start={code}"));
    // Another county's office may not issue one; an employer neither.
    let (_, other_county) = w.app.org("安龙县就业局", "county_office", Some("522328")).await;
    let path = format!("/v1/workers/{worker}/binding-code");
    assert_eq!(w.app.post_as(&other_county, &path).send().await.unwrap().status(), 403);
    assert_eq!(w.app.post_as(&w.employer, &path).send().await.unwrap().status(), 403);
    let chat = 7101;
    w.tg.text(chat, &format!("/start {code}"));
    let consent = w.tg.wait_for(chat, "您同意吗").await;
    w.tg.press(chat, consent.message_id.unwrap(), &button(&consent, "同意"));
    w.tg.wait_for(chat, "绑定成功").await;
    assert_eq!(chat_rows(&w)[0].b, Some(worker.to_string()));
    // Single use.
    let again = 7102;
    w.tg.text(again, &format!("/start {code}"));
    let c2 = w.tg.wait_for(again, "您同意吗").await;
    w.tg.press(again, c2.message_id.unwrap(), &button(&c2, "同意"));
    w.tg.wait_for(again, "绑定码无效").await;
    assert_eq!(chat_rows(&w).len(), 1);
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn offers_are_sent_then_accepted_or_declined_with_a_reason() {
    let mut w = world().await;
    let (worker, phone) = w.worker(105).await;
    let local = w.job("电子装配工", XINGYI).await;
    let far = w.job("普工", DONGGUAN).await;
    w.start().await;
    let chat = 7201;
    w.bind(chat, &phone).await;
    let first = w.offer(local, worker).unwrap();
    let second = w.offer(far, worker).unwrap();
    let m1 = w.tg.wait_for(chat, "电子装配工").await;
    let t1 = text_of(&m1);
    for part in ["岗位推荐", "兴义顺达电子厂", "贵州省黔西南布依族苗族自治州兴义市", "4500–6000 元/月", "合同：12 个月"]
    {
        assert!(t1.contains(part), "{part} missing in {t1}");
    }
    assert!(!t1.contains("交通补助"), "a local job states no cross-province rule: {t1}");
    assert_eq!(buttons(&m1).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["感兴趣", "不感兴趣", "详情"]);
    let m2 = w.tg.wait_for(chat, "【岗位推荐】普工").await;
    let t2 = text_of(&m2);
    assert!(t2.contains("跨省务工稳定就业满3个月，可按规定申领一次性交通补助"), "{t2}");
    assert!(t2.contains("广东省东莞市"), "{t2}");
    // Recorded as sent, with the Telegram message id; one second apart (per-chat rate).
    eventually("offers marked sent", async || {
        offer_status(&w, first).0 == "sent" && offer_status(&w, second).0 == "sent"
    })
    .await;
    assert!(m2.at.duration_since(m1.at) >= Duration::from_millis(950), "{:?}", m2.at.duration_since(m1.at));
    let ids: Vec<Row> = w.sql("SELECT state AS a, message_id::text AS b FROM bot_queue ORDER BY id");
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].b, Some(m1.message_id.unwrap().to_string()));
    assert!(ids.iter().all(|r| r.a == "sent"));
    // 详情 shows the description.
    w.tg.press(chat, m1.message_id.unwrap(), &button(&m1, "详情"));
    w.tg.wait_for(chat, "流水线装配").await;
    // 感兴趣: accepted, and the poster is told through the outbox.
    w.tg.press(chat, m1.message_id.unwrap(), &button(&m1, "感兴趣"));
    w.tg.wait_for(chat, "已告诉兴义顺达电子厂").await;
    assert_eq!(offer_status(&w, first).0, "accepted");
    let ev: Vec<Row> = w.sql("SELECT topic AS a, payload->>'org_id' AS b FROM outbox WHERE topic = 'offer.accepted'");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].b, Some(w.employer_id.to_string()));
    // Pressing again says it was answered already.
    w.tg.press(chat, m1.message_id.unwrap(), &button(&m1, "感兴趣"));
    w.tg.wait_for(chat, "您已经回复过这个岗位").await;
    // 不感兴趣 asks why.
    w.tg.press(chat, m2.message_id.unwrap(), &button(&m2, "不感兴趣"));
    let why = w.tg.wait_for(chat, "方便说说原因吗").await;
    assert_eq!(
        buttons(&why).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        ["工资低", "太远", "工种不合适", "其他"]
    );
    assert_eq!(offer_status(&w, second), ("declined".into(), None));
    w.tg.press(chat, why.message_id.unwrap(), &button(&why, "太远"));
    w.tg.wait_for(chat, "谢谢，已记录").await;
    assert_eq!(offer_status(&w, second), ("declined".into(), Some("too_far".into())));
    // Visible through the API.
    let res = w.app.get_as(&w.employer, &format!("/v1/offers?worker_id={worker}")).send().await.unwrap();
    let page = json(res).await;
    let statuses: Vec<&str> = page["items"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "declined"]);
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn offers_expire_after_their_date() {
    let mut w = world().await;
    let (worker, _) = w.worker(107).await;
    let job = w.job("包装工", XINGYI).await;
    let offer = w.offer(job, worker).unwrap();
    let mut conn = w.app.conn();
    diesel::sql_query(format!("UPDATE offers SET expires_at = now() - interval '1 minute' WHERE id = '{offer}'"))
        .execute(&mut conn)
        .unwrap();
    let (expired, skipped) = store::offers::expire(&mut conn).unwrap();
    assert_eq!((expired, skipped), (1, 1));
    assert_eq!(offer_status(&w, offer).0, "expired");
    w.stop().await;
}

#[tokio::test]
async fn checkin_answers_are_stored_as_evidence() {
    let mut w = world().await;
    let (worker, phone) = w.worker(109).await;
    let (other_id, _) = w.app.org("兴义某物流公司", "employer", None).await;
    let today = domain::calendar::today_in_china(chrono::Utc::now());
    let start = today - chrono::Duration::days(40);
    let stay = w.placement(worker, w.employer_id, start);
    let leave = w.placement(worker, Uuid::parse_str(&other_id).unwrap(), start);
    w.start().await;
    let chat = 7301;
    w.bind(chat, &phone).await;
    // The round is the housekeeping step's from the 25th on, once a month.
    let on = |day: u32| chrono::Datelike::with_day(&today, day).unwrap();
    let step = |day: u32| app::tasks::housekeeping_once(&mut w.app.conn(), on(day)).unwrap();
    assert_eq!(step(24).checkins_queued, 0, "not before the 25th");
    assert_eq!(step(25).checkins_queued, 2);
    assert_eq!(step(26).checkins_queued, 0, "once a month");
    let q1 = w.tg.wait_for(chat, "你现在还在兴义顺达电子厂上班吗？").await;
    assert_eq!(buttons(&q1).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["还在", "已离职", "换了工作"]);
    let q2 = w.tg.wait_for(chat, "你现在还在兴义某物流公司上班吗？").await;
    w.tg.press(chat, q1.message_id.unwrap(), &button(&q1, "还在"));
    w.tg.wait_for(chat, "祝工作顺利").await;
    let reports: Vec<Row> =
        w.sql(&format!("SELECT source AS a, employed::text AS b FROM placement_reports WHERE placement_id = '{stay}'"));
    assert_eq!(reports.len(), 1);
    assert_eq!((reports[0].a.as_str(), reports[0].b.as_deref()), ("worker_checkin", Some("true")));
    // 已离职 asks the date and the reason, then ends the placement.
    w.tg.press(chat, q2.message_id.unwrap(), &button(&q2, "已离职"));
    let date_q = w.tg.wait_for(chat, "是哪天离开的").await;
    w.tg.press(chat, date_q.message_id.unwrap(), &button(&date_q, "今天"));
    let reason_q = w.tg.wait_for(chat, "离开的原因是").await;
    w.tg.press(chat, reason_q.message_id.unwrap(), &button(&reason_q, "家里有事"));
    w.tg.wait_for(chat, "我们会继续为您推荐").await;
    let sep: Vec<Row> =
        w.sql(&format!("SELECT source AS a, reason AS b FROM placement_separations WHERE placement_id = '{leave}'"));
    assert_eq!(sep.len(), 1);
    assert_eq!((sep[0].a.as_str(), sep[0].b.as_deref()), ("worker_checkin", Some("家里有事")));
    let ended: Vec<Row> =
        w.sql(&format!("SELECT separated_on::text AS a, NULL::text AS b FROM placements WHERE id = '{leave}'"));
    assert_eq!(ended[0].a, today.to_string());
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn stop_pauses_pushes_and_start_resumes_them() {
    let mut w = world().await;
    let (worker, phone) = w.worker(111).await;
    let before = w.job("电焊工", XINGYI).await;
    let after = w.job("叉车工", XINGYI).await;
    w.start().await;
    let chat = 7401;
    w.bind(chat, &phone).await;
    w.tg.text(chat, "/stop");
    w.tg.wait_for(chat, "已暂停推送").await;
    let accepts: Vec<Row> =
        w.sql(&format!("SELECT accepts_offers::text AS a, NULL::text AS b FROM workers WHERE id = '{worker}'"));
    assert_eq!(accepts[0].a, "false");
    // The planner respects it: no new offer.
    assert_eq!(w.offer(after, worker), None);
    // An offer queued before the stop is held back.
    let mut conn = w.app.conn();
    diesel::sql_query(format!(
        "INSERT INTO offers (id, job_id, worker_id, score, expires_at) VALUES ('{}', '{before}', '{worker}', 1, now() + interval '7 days')",
        Uuid::now_v7()
    ))
    .execute(&mut conn)
    .unwrap();
    let held: Vec<Row> = w.sql("SELECT id::text AS a, NULL::text AS b FROM offers");
    store::push_queue::enqueue_offer(&mut conn, Uuid::parse_str(&held[0].a).unwrap(), worker).unwrap();
    assert!(claim_finds_nothing(&w), "a stopped chat's push is claimable");
    let state: Vec<Row> = w.sql("SELECT state AS a, NULL::text AS b FROM bot_queue WHERE kind = 'offer'");
    assert!(state.iter().all(|r| r.a == "pending"), "held back, not claimed");
    assert!(w.tg.sent_to(chat).iter().all(|c| !text_of(c).contains("电焊工")), "sent while stopped");
    // /start resumes: the held offer goes out.
    w.tg.text(chat, "/start");
    w.tg.wait_for(chat, "已恢复推送").await;
    w.tg.wait_for(chat, "【岗位推荐】电焊工").await;
    let accepts: Vec<Row> =
        w.sql(&format!("SELECT accepts_offers::text AS a, NULL::text AS b FROM workers WHERE id = '{worker}'"));
    assert_eq!(accepts[0].a, "true");
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn a_429_is_honoured() {
    let mut w = world().await;
    let (worker, phone) = w.worker(113).await;
    let job = w.job("保洁员", XINGYI).await;
    w.start().await;
    let chat = 7501;
    w.bind(chat, &phone).await;
    w.tg.fail_next(Fail::RetryAfter(2));
    let offer = w.offer(job, worker).unwrap();
    let sent = w.tg.wait_for(chat, "保洁员").await;
    let calls: Vec<Call> = w.tg.calls().into_iter().filter(|c| c.method == "sendmessage").collect();
    let refused = calls.iter().find(|c| c.status == 429).expect("a 429 was answered");
    let waited = sent.at.duration_since(refused.at);
    assert!(waited >= Duration::from_secs(2), "resent after {waited:?}");
    assert!(
        calls.iter().filter(|c| c.at > refused.at && c.at < refused.at + Duration::from_secs(2)).count() == 0,
        "nothing is sent during the pause"
    );
    eventually("offer sent", async || offer_status(&w, offer).0 == "sent").await;
    // Telegram's "wait" is not a failed attempt: only the send that went through counts.
    let attempts = w.sql("SELECT attempts::text AS a, NULL::text AS b FROM bot_queue");
    assert_eq!(attempts[0].a, "1");
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn pushes_put_back_while_redis_is_down_keep_their_attempts() {
    // Found by make chaos (Redis down): every claim of a push the dispatcher put back for want of
    // Redis counted as an attempt, so a long outage followed by one network error to Telegram
    // would have failed the push for good.
    let mut w =
        world_with(qianlink_tests::Overrides { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() })
            .await;
    let (worker, _) = w.worker(115).await;
    let job = w.job("包装工", XINGYI).await;
    diesel::sql_query(format!(
        "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) VALUES ('telegram', '8201', '{worker}', 'code')"
    ))
    .execute(&mut w.app.conn())
    .unwrap();
    w.offer(job, worker).unwrap();
    let only_dispatch = Parts { polling: false, dispatcher: true };
    let d = bot::telegram::start_parts(w.app.state.services.clone(), config(&w.tg), only_dispatch).await.unwrap();
    // The dispatcher claims the row, fails to reach Redis (a reconnection takes it about 10 s) and
    // puts the row back for a second; watch two such put-backs, each with a new `not_before`.
    let mut put_backs = std::collections::BTreeSet::new();
    eventually_within("the push put back twice", Duration::from_secs(90), async || {
        let row = w.sql(
            "SELECT concat_ws('|', state, attempts, coalesce(last_error, '')) AS a, not_before::text AS b FROM bot_queue",
        );
        if row[0].a.starts_with("pending|") && row[0].a.ends_with("|redis unreachable") {
            assert_eq!(row[0].a, "pending|0|redis unreachable", "put back unsent, no attempt used");
            put_backs.insert(row[0].b.clone());
        }
        put_backs.len() >= 2
    })
    .await;
    assert!(w.tg.sent_to(8201).is_empty(), "nothing is sent without the shared limits");
    d.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn a_403_marks_the_worker_unreachable() {
    let mut w = world().await;
    let (worker, phone) = w.worker(115).await;
    let j1 = w.job("厨师", XINGYI).await;
    let j2 = w.job("服务员", XINGYI).await;
    w.start().await;
    let chat = 7601;
    w.bind(chat, &phone).await;
    w.tg.block(chat);
    w.offer(j1, worker).unwrap();
    eventually("the chat marked unreachable", async || {
        let r: Vec<Row> = w.sql("SELECT chat_id AS a, unreachable_at::text AS b FROM bot_chats");
        r[0].b.is_some()
    })
    .await;
    let failed: Vec<Row> = w.sql("SELECT state AS a, last_error AS b FROM bot_queue");
    assert_eq!(failed[0].a, "failed");
    // Nothing more is sent to them.
    w.offer(j2, worker).unwrap();
    assert!(claim_finds_nothing(&w), "an unreachable chat's push is claimable");
    let attempts = w.tg.calls().iter().filter(|c| c.method == "sendmessage" && c.status == 403).count();
    assert_eq!(attempts, 1);
    let pending: Vec<Row> = w.sql("SELECT state AS a, NULL::text AS b FROM bot_queue ORDER BY id");
    assert_eq!(pending[1].a, "pending");
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn a_dialogue_survives_a_restart() {
    let mut w = world().await;
    let (worker, phone) = w.worker(117).await;
    w.start().await;
    let chat = 7701;
    w.tg.text(chat, "/start");
    let consent = w.tg.wait_for(chat, "您同意吗").await;
    w.tg.press(chat, consent.message_id.unwrap(), &button(&consent, "同意"));
    w.tg.wait_for(chat, "分享我的手机号").await;
    // Restart: the new process knows the chat awaits a contact (state in Redis).
    w.stop().await;
    let key = format!("{}bot:dialogue:telegram:{chat}", w.app.redis_prefix);
    let mut r = redis::Client::open(qianlink_tests::redis_url()).unwrap().get_connection().unwrap();
    let stored: Option<String> = redis::cmd("GET").arg(&key).query(&mut r).unwrap();
    assert!(stored.unwrap().contains("awaiting_contact"));
    w.start().await;
    w.tg.contact(chat, &phone, Some(chat));
    w.tg.wait_for(chat, "绑定成功").await;
    assert_eq!(chat_rows(&w)[0].b, Some(worker.to_string()));
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn a_standby_dispatcher_takes_over() {
    let mut w = world().await;
    let job = w.job("搬运工", XINGYI).await;
    let mut workers = vec![];
    for i in 0..6u32 {
        let (id, _) = w.worker(201 + 2 * i).await;
        workers.push(id);
    }
    // Bind the chats directly (the binding flow is tested above).
    let mut conn = w.app.conn();
    for (i, id) in workers.iter().enumerate() {
        diesel::sql_query(format!(
            "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) VALUES ('telegram', '{}', '{id}', 'code')",
            8000 + i
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let only_dispatch = Parts { polling: false, dispatcher: true };
    let mut cfg = config(&w.tg);
    cfg.dispatch.rate = 2;
    let first = bot::telegram::start_parts(w.app.state.services.clone(), cfg.clone(), only_dispatch).await.unwrap();
    let leads = format!(
        "SELECT l.pid::text AS a, NULL::text AS b FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
          WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted \
            AND ((l.classid::bigint << 32) | l.objid::bigint) = {}",
        store::push_queue::DISPATCHER_LOCK
    );
    eventually("the first dispatcher holding the lock", async || w.sql(&leads).len() == 1).await;
    let second = bot::telegram::start_parts(w.app.state.services.clone(), cfg, only_dispatch).await.unwrap();
    for id in &workers {
        w.offer(job, *id).unwrap();
    }
    eventually("two sent", async || w.tg.delivered_count() >= 2).await;
    first.stop().await; // the leader dies
    eventually("all recorded as sent", async || {
        let states: Vec<Row> = w.sql("SELECT state AS a, NULL::text AS b FROM bot_queue");
        states.iter().all(|r| r.a == "sent")
    })
    .await;
    let mut chats: Vec<i64> = w.tg.deliveries().iter().map(|(c, _)| *c).collect();
    let maybe: Vec<Row> = w.sql("SELECT count(*)::text AS a, NULL::text AS b FROM bot_queue WHERE maybe_sent");
    chats.sort();
    let before = chats.len();
    chats.dedup();
    assert_eq!(chats.len(), 6, "every chat got its offer");
    assert!(before - 6 <= maybe[0].a.parse::<usize>().unwrap(), "a duplicate only for rows flagged maybe_sent");
    second.stop().await;
}

/// One monitoring-response row, flattened: status|place|province|industry|income|band, and its source.
fn survey_rows(w: &World, worker: Uuid) -> Vec<Row> {
    w.sql(&format!(
        "SELECT concat_ws('|', employment_status, coalesce(work_place, '-'), coalesce(work_province_code, '-'), \
                coalesce(industry, '-'), coalesce(monthly_income::text, '-'), coalesce(income_band, '-')) AS a, \
                source AS b FROM monitoring_responses WHERE worker_id = '{worker}' ORDER BY id"
    ))
}

#[tokio::test]
async fn the_monthly_survey_is_answered_with_buttons_and_a_typed_income() {
    let mut w = world().await;
    let (typed, phone) = w.worker(121).await;
    let (banded, phone2) = w.worker(123).await;
    let (_, phone3) = w.worker(125).await;
    w.start().await;
    let (chat, chat2, chat3) = (7801, 7802, 7803);
    w.bind(chat, &phone).await;
    w.bind(chat2, &phone2).await;
    w.bind(chat3, &phone3).await;
    w.tg.text(chat3, "/stop");
    w.tg.wait_for(chat3, "已暂停推送").await;
    // The county office opens the round; the surveys are queued in the same transaction.
    let period = domain::calendar::YearMonth::of(domain::calendar::today_in_china(chrono::Utc::now()));
    let res = w.app.post_as(&w.county, "/v1/monitoring-rounds").json(&json!({"period": period.to_string()})).send();
    assert_eq!(res.await.unwrap().status(), 201);
    let queued: Vec<Row> = w.sql("SELECT kind AS a, period::text AS b FROM bot_queue");
    assert_eq!(queued.len(), 2, "the two chats that take pushes, not the stopped one");
    assert!(queued.iter().all(|r| r.a == "survey" && r.b == Some(period.first_day().to_string())));
    assert_eq!(store::push_queue::enqueue_surveys(&mut w.app.conn()).unwrap(), 0, "once per worker and period");

    // Worker 1: in work outside the province, by buttons, then types the income.
    let month = format!("{}月", period.month());
    let q = w.tg.wait_for(chat, "【每月就业调查】").await;
    assert!(text_of(&q).contains(&format!("{month}您主要在做什么")), "{}", text_of(&q));
    assert_eq!(
        buttons(&q).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        ["在上班", "自己做生意", "公益性岗位", "没有工作", "在上学", "暂时不能工作"]
    );
    w.tg.tap(chat, &q, "在上班");
    let place = w.tg.wait_for(chat, "您在哪里工作").await;
    assert_eq!(buttons(&place).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["本县", "省内", "省外"]);
    w.tg.tap(chat, &place, "省外");
    let province = w.tg.wait_for(chat, "在哪个省").await;
    w.tg.tap(chat, &province, "广东");
    let industry = w.tg.wait_for(chat, "做的是哪一行").await;
    w.tg.tap(chat, &industry, "工厂/制造");
    let income = w.tg.wait_for(chat, "收入大约多少元").await;
    assert!(buttons(&income).iter().any(|(l, _)| l == "3000–4000"), "bands for who prefers not to type");
    w.tg.text(chat, "不好说");
    w.tg.wait_for(chat, "请输入一个数字").await;
    w.tg.text(chat, "5200元");
    w.tg.wait_for(chat, &format!("谢谢！已记录您{month}的情况")).await;
    let rows = survey_rows(&w, typed);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].a, "employed|out_of_province|440000|制造业|5200|-");
    assert_eq!(rows[0].b.as_deref(), Some("bot"));
    // Answered buttons are taken away.
    for m in [&q, &place, &province, &industry] {
        let id = m.message_id.unwrap();
        eventually("buttons removed", async || {
            w.tg.calls().iter().any(|c| c.method == "editmessagereplymarkup" && c.body["message_id"] == id)
        })
        .await;
    }

    // Worker 2: in work in the county, and a band instead of a number.
    let mut m = w.tg.wait_for(chat2, "【每月就业调查】").await;
    for (label, next) in
        [("在上班", "您在哪里工作"), ("本县", "做的是哪一行"), ("建筑工地", "收入大约多少元"), ("3000–4000", "谢谢！")]
    {
        w.tg.tap(chat2, &m, label);
        m = w.tg.wait_for(chat2, next).await;
    }
    assert_eq!(survey_rows(&w, banded)[0].a, "employed|in_county|-|建筑业|-|3000_4000");

    // The round's report counts both; the band stays out of the median.
    let res = w.app.get_as(&w.county, &format!("/v1/monitoring-rounds/{period}/report")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let r = json(res).await;
    assert_eq!(r["by_destination"], json!({"in_county": 1, "out_of_province": 1}), "{r}");
    assert_eq!(r["by_province"], json!({"440000": 1}));
    assert_eq!(r["income_median"], json!(5200.0));
    assert_eq!(r["by_income_band"], json!({"3000_4000": 1}));

    // Another enqueue for the period (app::tasks::housekeeping_once does one a minute) sends nothing.
    assert_eq!(store::push_queue::enqueue_surveys(&mut w.app.conn()).unwrap(), 0);
    let in_flight =
        |w: &World| w.sql("SELECT id::text AS a, NULL::text AS b FROM bot_queue WHERE state = 'sending'").len();
    eventually("every claimed push recorded", async || in_flight(&w) == 0).await;
    assert!(claim_finds_nothing(&w), "a survey still to send");
    for c in [chat, chat2, chat3] {
        let surveys = w.tg.sent_to(c).iter().filter(|m| text_of(m).contains("【每月就业调查】")).count();
        assert_eq!(surveys, usize::from(c != chat3), "chat {c}");
    }
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn after_a_crash_the_delivery_journal_prevents_a_second_copy() {
    let mut w = world().await;
    let job = w.job("装卸工", XINGYI).await;
    let mut conn = w.app.conn();
    let mut rows = vec![];
    for (i, chat) in [(0u32, 8101), (1, 8102)] {
        let (id, _) = w.worker(301 + 2 * i).await;
        diesel::sql_query(format!(
            "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) VALUES ('telegram', '{chat}', '{id}', 'code')"
        ))
        .execute(&mut conn)
        .unwrap();
        let offer = w.offer(job, id).unwrap();
        rows.push((offer, chat));
    }
    // A dispatcher died with both rows claimed: Telegram confirmed the first
    // (noted in the journal), the second never left.
    diesel::sql_query("UPDATE bot_queue SET state = 'sending', attempts = 1, channel = 'telegram'")
        .execute(&mut conn)
        .unwrap();
    let ids: Vec<Row> = w.sql("SELECT id::text AS a, offer_id::text AS b FROM bot_queue ORDER BY id");
    let first_row: i64 = ids.iter().find(|r| r.b == Some(rows[0].0.to_string())).unwrap().a.parse().unwrap();
    let journal = format!("{}bot:delivered:telegram", w.app.redis_prefix);
    let mut r = redis::Client::open(qianlink_tests::redis_url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("HSET").arg(&journal).arg(first_row).arg(4242).query(&mut r).unwrap();
    let only_dispatch = Parts { polling: false, dispatcher: true };
    let d = bot::telegram::start_parts(w.app.state.services.clone(), config(&w.tg), only_dispatch).await.unwrap();
    eventually("both rows sent", async || {
        w.sql("SELECT state AS a, NULL::text AS b FROM bot_queue").iter().all(|r| r.a == "sent")
    })
    .await;
    let after: Vec<Row> = w.sql(&format!(
        "SELECT concat_ws('|', message_id, maybe_sent::text) AS a, NULL::text AS b FROM bot_queue WHERE id = {first_row}"
    ));
    assert_eq!(after[0].a, "4242|false", "recorded from the journal, not sent again");
    assert!(w.tg.sent_to(rows[0].1).is_empty(), "no second copy to the first chat");
    assert_eq!(w.tg.sent_to(rows[1].1).len(), 1, "the other row is sent");
    let flagged: Vec<Row> = w.sql("SELECT count(*)::text AS a, NULL::text AS b FROM bot_queue WHERE maybe_sent");
    assert_eq!(flagged[0].a, "1");
    assert_eq!(offer_status(&w, rows[0].0).0, "sent");
    eventually("the journal emptied", async || {
        let n: i64 = redis::cmd("HLEN").arg(&journal).query(&mut r).unwrap();
        n == 0
    })
    .await;
    d.stop().await;
}

#[tokio::test]
async fn webhook_mode_takes_updates_posted_to_it() {
    let mut w = world().await;
    let (worker, phone) = w.worker(127).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hook = format!("http://127.0.0.1:{port}/telegram/hook");
    let mut cfg = config(&w.tg);
    cfg.webhook = Some(bot::webhook::WebhookConfig::parse(&hook, &format!("127.0.0.1:{port}")).unwrap());
    w.bot = Some(bot::telegram::start(w.app.state.services.clone(), cfg).await.unwrap());
    // setWebhook was called with the URL and the secret derived from the token.
    eventually("setWebhook was called", async || w.tg.webhook().is_some()).await;
    let (url, secret) = w.tg.webhook().expect("setWebhook was called");
    assert_eq!(url, hook);
    assert_eq!(secret, bot::webhook::secret_for(&w.tg.token));
    let client = reqwest::Client::new();
    let chat = 7901;
    // Without Telegram's secret header, or with another value, nothing is taken.
    for given in [None, Some("not-the-secret")] {
        let mut req = client.post(&url).json(&w.tg.text_update(chat, "/start"));
        if let Some(g) = given {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", g);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    // An update posted with it is handled, and the bot answers through the Bot API.
    help_through_the_webhook(&w, chat).await;
    // The fake server pushes updates as Telegram does: the binding flow works end to end.
    w.bind(chat, &phone).await;
    assert_eq!(chat_rows(&w)[0].b, Some(worker.to_string()));
    assert_eq!(w.tg.sent_to(chat).iter().filter(|m| text_of(m).contains("您同意吗")).count(), 1, "the refused /start");
    assert!(!w.tg.webhook_answers().is_empty() && w.tg.webhook_answers().iter().all(|s| *s == 200));
    assert!(w.tg.calls().iter().all(|c| c.method != "getupdates"), "no long polling in webhook mode");
    w.stop().await;
    // Long polling (the default) deletes the webhook before it polls.
    w.start().await;
    eventually("the webhook deleted", async || w.tg.webhook().is_none()).await;
    w.tg.text(chat, "/help");
    w.tg.wait_nth(chat, "黔联可以帮您", 2).await;
    w.stop().await;
    w.assert_clean();
}

#[tokio::test]
async fn jobs_come_in_pages_and_status_shows_offers_and_work() {
    let mut w = world().await;
    let (worker, phone) = w.worker(129).await;
    let titles: Vec<String> = (0..7).map(|i| format!("岗位{i}号")).collect();
    let mut jobs = vec![];
    for t in &titles {
        jobs.push(w.job(t, XINGYI).await);
    }
    w.start().await;
    let chat = 7951;
    w.bind(chat, &phone).await;
    // /jobs: five recommendations a page, 下一页 for the rest.
    w.tg.text(chat, "/jobs");
    let p1 = w.tg.wait_for(chat, "第 1 页").await;
    let t1 = text_of(&p1);
    let first: Vec<&String> = titles.iter().filter(|t| t1.contains(t.as_str())).collect();
    assert_eq!(first.len(), 5, "{t1}");
    assert!(t1.contains("兴义顺达电子厂") && t1.contains("4500–6000 元/月"), "{t1}");
    assert_eq!(buttons(&p1).iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["下一页"]);
    w.tg.tap(chat, &p1, "下一页");
    let p2 = w.tg.wait_for(chat, "第 2 页").await;
    let t2 = text_of(&p2);
    let second: Vec<&String> = titles.iter().filter(|t| t2.contains(t.as_str())).collect();
    assert_eq!(second.len(), 2, "{t2}");
    assert!(second.iter().all(|t| !first.contains(t)), "no job twice");
    assert!(t2.contains("\n6. ") && t2.contains("\n7. "), "numbering goes on: {t2}");
    assert!(buttons(&p2).is_empty(), "the last page has no 下一页");
    // /status before anything happened.
    w.tg.text(chat, "/status");
    let s1 = text_of(&w.tg.wait_for(chat, "我的岗位推荐").await);
    assert!(s1.contains("· 暂无\n") && s1.contains("· 暂无登记"), "{s1}");
    // An offer answered and a placement registered show up.
    w.offer(jobs[0], worker).unwrap();
    let push = w.tg.wait_for(chat, "【岗位推荐】岗位0号").await;
    w.tg.tap(chat, &push, "感兴趣");
    w.tg.wait_for(chat, "已告诉兴义顺达电子厂").await;
    let start = domain::calendar::today_in_china(chrono::Utc::now()) - chrono::Duration::days(10);
    w.placement(worker, w.employer_id, start);
    w.tg.text(chat, "/status");
    let s2 = text_of(&w.tg.wait_nth(chat, "我的岗位推荐", 2).await);
    assert!(s2.contains("· 岗位0号（兴义顺达电子厂）：感兴趣"), "{s2}");
    assert!(s2.contains(&format!("· 兴义顺达电子厂，{} 起", start.format("%Y-%m-%d"))), "{s2}");
    w.stop().await;
    w.assert_clean();
}

/// Telegram unreachable at start (#16): getMe answers an unreadable page for
/// its first calls. The API serves meanwhile and `/readyz` says `degraded`
/// naming `telegram` (200: a load balancer keeps the process); nothing
/// panics (teloxide's `dispatch` would); and once Telegram answers, the bot
/// starts by itself and answers a `/start`.
#[tokio::test]
async fn the_bot_waits_for_an_unreachable_telegram_and_starts_by_itself() {
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        default_hook(info);
    }));
    let mut w = world().await;
    let ready = json(w.app.get("/readyz").send().await.unwrap()).await;
    assert_eq!(ready["telegram"]["status"], "disabled", "{ready}");
    const FAILURES: u32 = 8;
    w.tg.fail_get_me(FAILURES);
    w.start().await;
    // Down, and said so, while the API serves.
    let degraded = eventually_within("telegram reported down", Duration::from_secs(10), async || {
        let res = w.app.get("/readyz").send().await.unwrap();
        let status = res.status();
        let body = json(res).await;
        if body["telegram"]["status"] == "down" {
            assert_eq!(status, 200, "{body}");
            Ok(body)
        } else {
            Err(body)
        }
    })
    .await;
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    assert_eq!(degraded["down"], json!(["telegram"]), "{degraded}");
    assert!(degraded["telegram"]["error"].as_str().is_some_and(|e| !e.contains(&w.tg.token)), "{degraded}");
    let res = w.app.get_as(&w.county, "/v1/workers").send().await.unwrap();
    assert_eq!(res.status(), 200, "the API serves while Telegram is down");
    // Telegram answers again once the failures are used up: the bot starts by itself.
    let chat = 77_001;
    w.tg.text(chat, "/start");
    w.tg.wait_for(chat, "您同意吗").await;
    assert_eq!(w.tg.get_me_failures_left(), 0, "every failing getMe was retried");
    let body = eventually_within("ready again", Duration::from_secs(10), async || {
        let body = json(w.app.get("/readyz").send().await.unwrap()).await;
        if body["status"] == "ready" { Ok(body) } else { Err(body) }
    })
    .await;
    assert_eq!(body["telegram"]["status"], "up", "{body}");
    assert_eq!(body["down"], json!([]), "{body}");
    w.stop().await;
    assert_eq!(PANICS.load(std::sync::atomic::Ordering::SeqCst), 0, "a panic in the bot's start");
}

/// A bot that never reaches Telegram stops at once when asked.
#[tokio::test]
async fn a_bot_still_waiting_for_telegram_stops_at_once() {
    let mut w = world().await;
    w.tg.fail_get_me(u32::MAX);
    w.start().await;
    let get_me = |w: &World| w.tg.calls().iter().filter(|c| c.method == "getme").count();
    eventually("getMe failing and retried", async || get_me(&w) >= 2).await;
    let t = std::time::Instant::now();
    w.stop().await;
    assert!(t.elapsed() < Duration::from_secs(2), "stop took {:?}", t.elapsed());
}

/// A webhook registration that fails (#16) is retried like getMe: `/readyz`
/// names `telegram` meanwhile, and the webhook is set and takes updates once
/// Telegram accepts it.
#[tokio::test]
async fn a_failed_webhook_registration_is_retried() {
    let mut w = world().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hook = format!("http://127.0.0.1:{port}/telegram/hook");
    let mut cfg = config(&w.tg);
    cfg.webhook = Some(bot::webhook::WebhookConfig::parse(&hook, &format!("127.0.0.1:{port}")).unwrap());
    w.tg.fail_set_webhook(3);
    w.bot = Some(bot::telegram::start(w.app.state.services.clone(), cfg).await.unwrap());
    eventually("telegram reported down", async || {
        matches!(w.app.state.telegram.get(), api::health::ChannelState::Down { ref error, .. } if error.contains("setWebhook"))
    })
    .await;
    eventually("the webhook set after the refusals", async || w.tg.webhook().is_some()).await;
    let refused = w.tg.calls().iter().filter(|c| c.method == "setwebhook" && c.status == 400).count();
    assert_eq!(refused, 3, "each refusal was followed by a retry");
    help_through_the_webhook(&w, 7902).await;
    w.stop().await;
}
