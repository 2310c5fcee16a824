//! The conversation, channel-neutral and pure: no I/O, no Telegram types.
//!
//! [`step`] maps a dialogue state and an input to the next state, the
//! replies (text with buttons) and at most one [`Effect`] for the caller to
//! apply. The effect's result comes back as [`Input::Outcome`] through the
//! same function, so everything the bot says is decided here. A Telegram,
//! WeChat or SMS adapter only turns its updates into [`Input`]s and renders
//! [`Reply`]s.
//!
//! Nothing here ever asks for or shows an ID number, and no message names a
//! worker's phone, category or poverty status: subsidies are stated as the
//! general rule (safe to read over a shoulder). [`scrub`] masks anything that
//! looks like an ID or phone number in outgoing text as a last guard.

use crate::survey::{self, Income, IncomeBand, Next, Survey};
use chrono::{Datelike, NaiveDate};
use domain::calendar::YearMonth;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a chat is in a conversation. Stored between messages (Redis), so
/// it survives restarts; every variant is serialisable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Dialogue {
    #[default]
    Idle,
    /// `/start` explained what is stored; waiting for 同意. A one-time code
    /// given with `/start <code>` is used once the worker agrees.
    AwaitingConsent { code: Option<String> },
    /// Agreed; waiting for the worker's own contact.
    AwaitingContact,
    /// 不感兴趣 was recorded; waiting for why.
    AwaitingDeclineReason { offer_id: Uuid },
    /// 已离职 / 换了工作: waiting for the date.
    AwaitingSeparationDate { placement_id: Uuid, changed_job: bool },
    /// 已离职 on `on`: waiting for the reason.
    AwaitingSeparationReason { placement_id: Uuid, on: NaiveDate },
    /// The monthly survey asked for the income: waiting for a number (or a band button).
    AwaitingSurveyIncome { survey: Survey },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start` or `/start <code>` (deep link).
    Start(Option<String>),
    Unbind,
    Jobs,
    Status,
    Help,
    Stop,
    Unknown(String),
}

/// `/start abc`, `/start@QianlinkBot abc` → `Command`; `None` for plain text.
pub fn parse_command(text: &str) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, arg) = match rest.split_once(char::is_whitespace) {
        Some((h, a)) => (h, Some(a.trim()).filter(|a| !a.is_empty()).map(str::to_owned)),
        None => (rest, None),
    };
    let name = head.split('@').next().unwrap_or("").to_ascii_lowercase();
    Some(match name.as_str() {
        "start" => Command::Start(arg),
        "unbind" => Command::Unbind,
        "jobs" => Command::Jobs,
        "status" => Command::Status,
        "help" => Command::Help,
        "stop" => Command::Stop,
        other => Command::Unknown(other.to_owned()),
    })
}

/// Why an offer is declined (`offers.decline_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclineReason {
    LowWage,
    TooFar,
    WrongTrade,
    Other,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 4] = [Self::LowWage, Self::TooFar, Self::WrongTrade, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LowWage => "low_wage",
            Self::TooFar => "too_far",
            Self::WrongTrade => "wrong_trade",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::LowWage => "工资低",
            Self::TooFar => "太远",
            Self::WrongTrade => "工种不合适",
            Self::Other => "其他",
        }
    }
}

/// Why the worker left a job (stored as the separation reason, in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    LowWage,
    HardWork,
    Family,
    ContractEnded,
    Dismissed,
    Other,
}

impl LeaveReason {
    pub const ALL: [LeaveReason; 6] =
        [Self::LowWage, Self::HardWork, Self::Family, Self::ContractEnded, Self::Dismissed, Self::Other];

    fn code(self) -> &'static str {
        match self {
            Self::LowWage => "w",
            Self::HardWork => "h",
            Self::Family => "f",
            Self::ContractEnded => "c",
            Self::Dismissed => "d",
            Self::Other => "o",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::LowWage => "工资低",
            Self::HardWork => "太累/环境差",
            Self::Family => "家里有事",
            Self::ContractEnded => "合同到期",
            Self::Dismissed => "被辞退",
            Self::Other => "其他",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferButton {
    Interested,
    NotInterested,
    Details,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckinButton {
    StillThere,
    Left,
    ChangedJob,
}

/// A button press. Encoded in at most 64 bytes (Telegram's callback data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Consent,
    Refuse,
    Offer {
        offer_id: Uuid,
        answer: OfferButton,
    },
    Decline {
        offer_id: Uuid,
        reason: DeclineReason,
    },
    Checkin {
        placement_id: Uuid,
        answer: CheckinButton,
    },
    LeftToday,
    LeftYesterday,
    LeaveReason(LeaveReason),
    JobsPage(u32),
    /// A survey answer: the answers so far, the one just given included.
    Survey(Survey),
    /// 其他省份: show the provinces beyond the usual destinations.
    SurveyMoreProvinces(Survey),
    /// An income band, or 不想说 (`None`).
    SurveyIncome(Survey, Option<IncomeBand>),
}

impl Button {
    pub fn encode(&self) -> String {
        match self {
            Self::Consent => "consent".into(),
            Self::Refuse => "refuse".into(),
            Self::Offer { offer_id, answer } => {
                let a = match answer {
                    OfferButton::Interested => "i",
                    OfferButton::NotInterested => "n",
                    OfferButton::Details => "d",
                };
                format!("o:{a}:{offer_id}")
            }
            Self::Decline { offer_id, reason } => format!("dr:{}:{offer_id}", reason.as_str()),
            Self::Checkin { placement_id, answer } => {
                let a = match answer {
                    CheckinButton::StillThere => "s",
                    CheckinButton::Left => "l",
                    CheckinButton::ChangedJob => "c",
                };
                format!("c:{a}:{placement_id}")
            }
            Self::LeftToday => "sd:t".into(),
            Self::LeftYesterday => "sd:y".into(),
            Self::LeaveReason(r) => format!("sr:{}", r.code()),
            Self::JobsPage(n) => format!("jp:{n}"),
            Self::Survey(s) => format!("sv:{}", s.encode()),
            Self::SurveyMoreProvinces(s) => format!("sm:{}", s.encode()),
            Self::SurveyIncome(s, band) => format!("si:{}:{}", s.encode(), band.map_or('-', IncomeBand::code)),
        }
    }

    pub fn decode(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        Some(match parts.as_slice() {
            ["consent"] => Self::Consent,
            ["refuse"] => Self::Refuse,
            ["o", a, id] => Self::Offer {
                offer_id: Uuid::parse_str(id).ok()?,
                answer: match *a {
                    "i" => OfferButton::Interested,
                    "n" => OfferButton::NotInterested,
                    "d" => OfferButton::Details,
                    _ => return None,
                },
            },
            ["dr", r, id] => Self::Decline { offer_id: Uuid::parse_str(id).ok()?, reason: DeclineReason::parse(r)? },
            ["c", a, id] => Self::Checkin {
                placement_id: Uuid::parse_str(id).ok()?,
                answer: match *a {
                    "s" => CheckinButton::StillThere,
                    "l" => CheckinButton::Left,
                    "c" => CheckinButton::ChangedJob,
                    _ => return None,
                },
            },
            ["sd", "t"] => Self::LeftToday,
            ["sd", "y"] => Self::LeftYesterday,
            ["sr", c] => Self::LeaveReason(LeaveReason::ALL.into_iter().find(|r| r.code() == *c)?),
            ["jp", n] => Self::JobsPage(n.parse().ok()?),
            ["sv", s] => Self::Survey(Survey::decode(s)?),
            ["sm", s] => Self::SurveyMoreProvinces(Survey::decode(s)?),
            ["si", s, b] => Self::SurveyIncome(
                Survey::decode(s)?,
                match *b {
                    "-" => None,
                    b => {
                        let mut cs = b.chars();
                        let (Some(c), None) = (cs.next(), cs.next()) else { return None };
                        Some(IncomeBand::from_code(c)?)
                    }
                },
            ),
            _ => return None,
        })
    }
}

/// What the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Command(Command),
    /// A shared contact; `is_own` when it is the sender's own (Telegram:
    /// `contact.user_id == from.id`). A forwarded contact is not.
    Contact {
        phone: String,
        is_own: bool,
    },
    Button(Button),
    Text(String),
    /// The result of the effect the previous step asked for.
    Outcome(Outcome),
}

/// What the caller must do (database work), reported back as an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    BindByPhone {
        phone: String,
    },
    BindByCode {
        code: String,
    },
    Unbind,
    SetPushes {
        on: bool,
    },
    AcceptOffer {
        offer_id: Uuid,
    },
    DeclineOffer {
        offer_id: Uuid,
        reason: Option<DeclineReason>,
    },
    LoadOffer {
        offer_id: Uuid,
    },
    CheckinStill {
        placement_id: Uuid,
    },
    CheckinLeft {
        placement_id: Uuid,
        on: NaiveDate,
        reason: String,
        changed_job: bool,
    },
    LoadJobs {
        page: u32,
    },
    LoadStatus,
    /// A finished monthly survey: write it as the worker's monitoring answer.
    RecordSurvey {
        survey: Survey,
        income: Income,
    },
}

/// An offer as the worker may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferView {
    pub offer_id: Uuid,
    pub title: String,
    pub employer: String,
    pub place: String,
    /// The job is outside Guizhou (the transport-subsidy rule may apply).
    pub cross_province: bool,
    pub wage_min: i32,
    pub wage_max: i32,
    pub contract_months: Option<i32>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub title: String,
    pub employer: String,
    pub place: String,
    pub wage_min: i32,
    pub wage_max: i32,
    /// Job-fit reasons only (never the worker's categories).
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusView {
    /// (title, employer, status)
    pub offers: Vec<(String, String, String)>,
    /// (employer, since)
    pub placements: Vec<(String, NaiveDate)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Bound,
    UnknownPhone,
    AmbiguousPhone,
    CodeInvalid,
    Unbound {
        was_bound: bool,
    },
    PushesSet {
        on: bool,
    },
    OfferAccepted {
        title: String,
        employer: String,
    },
    OfferDeclined {
        with_reason: bool,
    },
    /// Answered already, expired or cancelled (the offer's status).
    OfferClosed(String),
    OfferNotFound,
    Offer(OfferView),
    CheckinRecorded,
    Separated {
        changed_job: bool,
    },
    CheckinClosed,
    CheckinBadDate,
    Jobs {
        page: u32,
        items: Vec<JobView>,
        more: bool,
    },
    Status(StatusView),
    SurveyRecorded {
        period: YearMonth,
    },
    /// No round is open for the worker's county and period any more.
    SurveyClosed,
    /// The effect failed (database down): say so and keep the state.
    Failed,
}

/// What the core knows about the chat besides its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    pub today: NaiveDate,
    /// The chat is bound to a worker.
    pub bound: bool,
    /// The worker sent /stop.
    pub stopped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyboard {
    None,
    /// Rows of buttons under the message.
    Inline(Vec<Vec<(String, Button)>>),
    /// A one-time keyboard with a button that shares the worker's own contact.
    RequestContact(String),
    /// Take away a reply keyboard shown before.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub keyboard: Keyboard,
}

impl Reply {
    pub fn text(t: impl Into<String>) -> Self {
        Self { text: t.into(), keyboard: Keyboard::None }
    }

    pub fn with(t: impl Into<String>, keyboard: Keyboard) -> Self {
        Self { text: t.into(), keyboard }
    }
}

/// One step of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub next: Dialogue,
    pub replies: Vec<Reply>,
    pub effect: Option<Effect>,
    /// Remove the buttons of the message whose button was pressed (answered).
    pub close_buttons: bool,
}

impl Step {
    fn say(next: Dialogue, reply: Reply) -> Self {
        Self { next, replies: vec![reply], effect: None, close_buttons: false }
    }

    fn effect(next: Dialogue, effect: Effect) -> Self {
        Self { next, replies: vec![], effect: Some(effect), close_buttons: false }
    }

    fn closing(mut self) -> Self {
        self.close_buttons = true;
        self
    }
}

pub mod text {
    pub const CONSENT: &str = "您好！这里是黔联，帮助易地扶贫搬迁群众找工作。\n\n\
        绑定前请了解：我们会保存您的 Telegram 聊天编号，以及您对岗位推荐、每月在岗确认和每月就业调查的回答。\
        用途：给您推送合适的岗位；您每月的在岗确认是稳定就业的记录；调查结果用于了解大家的就业和收入。\n\n\
        我们不会在这里向您索要或发送身份证号。随时发送 /unbind 可解除绑定，发送 /stop 可暂停推送。\n\n\
        您同意吗？";
    pub const ASK_CONTACT: &str = "请点下方“分享我的手机号”按钮，我们用它在登记信息里找到您。";
    pub const CONTACT_BUTTON: &str = "📱 分享我的手机号";
    pub const BOUND: &str = "绑定成功！有合适的岗位会第一时间发给您。\n发送 /jobs 看推荐岗位，/help 看全部功能。";
    pub const FOREIGN_CONTACT: &str = "只能绑定您本人的手机号。请点“分享我的手机号”按钮，不要转发别人的名片。";
    pub const UNKNOWN_PHONE: &str = "没有找到这个手机号的登记信息。\n\
        请到您所在安置点（社区）的就业服务站登记或更新手机号，也可以请工作人员给您一个绑定码。";
    pub const AMBIGUOUS_PHONE: &str =
        "这个手机号登记在多人名下，无法自动绑定。请找安置点就业服务站的工作人员要一个绑定码。";
    pub const CODE_INVALID: &str = "绑定码无效、已用过或已过期。请找安置点就业服务站重新获取。";
    pub const REFUSED: &str = "好的，我们不会保存您的信息。如改变主意，随时发送 /start。";
    pub const ALREADY_BOUND: &str = "您已绑定黔联。发送 /jobs 看推荐岗位，/status 看我的进展。";
    pub const RESUMED: &str = "已恢复推送，有合适的岗位会发给您。";
    pub const STOPPED: &str = "已暂停推送，我们不会再主动给您发岗位和消息。发送 /start 可以恢复。";
    pub const UNBOUND: &str = "已解除绑定，我们不会再给您发消息。需要时发送 /start 重新绑定。";
    pub const NOT_BOUND: &str = "您还没有绑定。发送 /start 开始绑定。";
    pub const HELP: &str = "黔联可以帮您：\n/jobs 看推荐岗位\n/status 我的岗位推荐和工作\n/stop 暂停推送\n\
        /start 绑定或恢复推送\n/unbind 解除绑定\n/help 帮助";
    pub const SENSITIVE: &str = "为保护您的信息，请不要在这里发送身份证号或手机号。";
    pub const BUSY: &str = "系统繁忙，请稍后再试。";
    pub const UNKNOWN: &str = "没听懂。发送 /help 看可以做什么。";
    pub const CHOOSE_ABOVE: &str = "请点上面的按钮选择。";
    pub const ASK_DECLINE_REASON: &str = "好的。方便说说原因吗？这能帮我们推荐更合适的岗位。";
    pub const DECLINE_THANKS: &str = "谢谢，已记录。我们会推荐更合适的岗位。";
    pub const OFFER_GONE: &str = "找不到这条岗位推荐。";
    pub const CHECKIN_STILL: &str = "好的，已记录。祝工作顺利！";
    pub const ASK_LEAVE_DATE: &str = "是哪天离开的？请输入日期（例如 11-20），或点下面的按钮。";
    pub const BAD_DATE: &str = "没看懂这个日期，请按“月-日”输入，例如 11-20。";
    pub const DATE_OUT_OF_RANGE: &str = "这个日期不对：不能晚于今天，也不能早于入职那天。请重新输入。";
    pub const ASK_LEAVE_REASON: &str = "离开的原因是？";
    pub const SEPARATED: &str = "已记录。我们会继续为您推荐合适的岗位，发送 /jobs 可以马上看看。";
    pub const CHANGED_JOB: &str = "已记录，祝新工作顺利！";
    pub const CHECKIN_CLOSED: &str = "这份工作已经登记为结束，不用再确认了。";
    pub const NO_JOBS: &str = "暂时没有适合您的岗位，有新岗位会第一时间告诉您。";
    pub const SURVEY_ASK_NUMBER: &str = "请输入一个数字（单位：元），例如 3500；不方便说可以点上面的范围。";
    pub const SURVEY_CLOSED: &str = "这次调查已经结束，谢谢您。";
    pub const TRANSPORT_RULE: &str = "政策提示：跨省务工稳定就业满3个月，可按规定申领一次性交通补助。";
}

fn row(buttons: &[(&str, Button)]) -> Vec<(String, Button)> {
    buttons.iter().map(|(l, b)| ((*l).to_owned(), *b)).collect()
}

fn consent() -> Reply {
    Reply::with(text::CONSENT, Keyboard::Inline(vec![row(&[("同意", Button::Consent), ("不同意", Button::Refuse)])]))
}

fn ask_contact() -> Reply {
    Reply::with(text::ASK_CONTACT, Keyboard::RequestContact(text::CONTACT_BUTTON.into()))
}

fn wage(min: i32, max: i32) -> String {
    if min == max { format!("{min} 元/月") } else { format!("{min}–{max} 元/月") }
}

/// The push of an offer: one message with 感兴趣 / 不感兴趣 / 详情.
pub fn offer_message(o: &OfferView) -> Reply {
    let mut t = format!(
        "【岗位推荐】{}\n单位：{}\n地点：{}\n工资：{}\n",
        o.title,
        o.employer,
        o.place,
        wage(o.wage_min, o.wage_max)
    );
    match o.contract_months {
        Some(m) => t.push_str(&format!("合同：{m} 个月\n")),
        None => t.push_str("合同：面议\n"),
    }
    if o.cross_province {
        t.push_str(text::TRANSPORT_RULE);
        t.push('\n');
    }
    t.push_str("有兴趣吗？");
    let id = o.offer_id;
    Reply::with(
        t,
        Keyboard::Inline(vec![row(&[
            ("感兴趣", Button::Offer { offer_id: id, answer: OfferButton::Interested }),
            ("不感兴趣", Button::Offer { offer_id: id, answer: OfferButton::NotInterested }),
            ("详情", Button::Offer { offer_id: id, answer: OfferButton::Details }),
        ])]),
    )
}

/// The monthly check-in: 你现在还在{employer}上班吗？
pub fn checkin_message(placement_id: Uuid, employer: &str) -> Reply {
    Reply::with(
        format!("你现在还在{employer}上班吗？"),
        Keyboard::Inline(vec![row(&[
            ("还在", Button::Checkin { placement_id, answer: CheckinButton::StillThere }),
            ("已离职", Button::Checkin { placement_id, answer: CheckinButton::Left }),
            ("换了工作", Button::Checkin { placement_id, answer: CheckinButton::ChangedJob }),
        ])]),
    )
}

fn details(o: &OfferView) -> Reply {
    let mut desc: String = o.description.chars().take(600).collect();
    if o.description.chars().count() > 600 {
        desc.push('…');
    }
    let mut t = format!(
        "【{}】\n{}\n\n单位：{}\n地点：{}\n工资：{}",
        o.title,
        desc,
        o.employer,
        o.place,
        wage(o.wage_min, o.wage_max)
    );
    if let Some(m) = o.contract_months {
        t.push_str(&format!("\n合同：{m} 个月"));
    }
    if o.cross_province {
        t.push('\n');
        t.push_str(text::TRANSPORT_RULE);
    }
    let id = o.offer_id;
    Reply::with(
        t,
        Keyboard::Inline(vec![row(&[
            ("感兴趣", Button::Offer { offer_id: id, answer: OfferButton::Interested }),
            ("不感兴趣", Button::Offer { offer_id: id, answer: OfferButton::NotInterested }),
        ])]),
    )
}

fn decline_reasons(offer_id: Uuid) -> Reply {
    let buttons: Vec<(String, Button)> =
        DeclineReason::ALL.iter().map(|r| (r.label().to_owned(), Button::Decline { offer_id, reason: *r })).collect();
    Reply::with(text::ASK_DECLINE_REASON, Keyboard::Inline(vec![buttons[..2].to_vec(), buttons[2..].to_vec()]))
}

fn ask_leave_date() -> Reply {
    Reply::with(
        text::ASK_LEAVE_DATE,
        Keyboard::Inline(vec![row(&[("今天", Button::LeftToday), ("昨天", Button::LeftYesterday)])]),
    )
}

fn ask_leave_reason() -> Reply {
    let b: Vec<(String, Button)> =
        LeaveReason::ALL.iter().map(|r| (r.label().to_owned(), Button::LeaveReason(*r))).collect();
    Reply::with(text::ASK_LEAVE_REASON, Keyboard::Inline(b.chunks(3).map(<[_]>::to_vec).collect()))
}

fn closed(status: &str) -> &'static str {
    match status {
        "accepted" => "您已经回复过这个岗位（感兴趣），用人单位会联系您。",
        "declined" => "您已经回复过这个岗位（不感兴趣）。",
        "expired" => "这条岗位推荐已过期。",
        _ => "这条岗位推荐已关闭。",
    }
}

fn status_word(s: &str) -> &'static str {
    match s {
        "queued" => "待发送",
        "sent" => "待您回复",
        "accepted" => "感兴趣",
        "declined" => "不感兴趣",
        "expired" => "已过期",
        _ => "已关闭",
    }
}

fn jobs_page(page: u32, items: &[JobView], more: bool) -> Reply {
    if items.is_empty() {
        return Reply::text(if page == 0 { text::NO_JOBS } else { "没有更多岗位了。" });
    }
    let mut t = format!("为您推荐的岗位（第 {} 页）：\n", page + 1);
    for (i, j) in items.iter().enumerate() {
        t.push_str(&format!(
            "\n{}. {}｜{}\n   {}｜{}",
            page as usize * JOBS_PER_PAGE + i + 1,
            j.title,
            j.employer,
            j.place,
            wage(j.wage_min, j.wage_max)
        ));
        if !j.reasons.is_empty() {
            t.push_str(&format!("\n   {}", j.reasons.join("，")));
        }
        t.push('\n');
    }
    t.push_str("\n感兴趣的岗位，请联系安置点就业服务站帮您报名。");
    let keyboard =
        if more { Keyboard::Inline(vec![row(&[("下一页", Button::JobsPage(page + 1))])]) } else { Keyboard::None };
    Reply::with(t, keyboard)
}

/// Jobs shown per page of `/jobs`.
pub const JOBS_PER_PAGE: usize = 5;

fn status_text(s: &StatusView) -> String {
    let mut t = String::from("我的岗位推荐：\n");
    if s.offers.is_empty() {
        t.push_str("· 暂无\n");
    }
    for (title, employer, status) in &s.offers {
        t.push_str(&format!("· {title}（{employer}）：{}\n", status_word(status)));
    }
    t.push_str("\n我的工作：\n");
    if s.placements.is_empty() {
        t.push_str("· 暂无登记\n");
    }
    for (employer, since) in &s.placements {
        t.push_str(&format!("· {employer}，{} 起\n", since.format("%Y-%m-%d")));
    }
    t.trim_end().to_owned()
}

/// A date the worker typed: `2026-11-20`, `11-20`, `11月20日`, `11/20`,
/// `11.20`, 今天, 昨天. Without a year, the latest such date not after today.
pub fn parse_date(input: &str, today: NaiveDate) -> Option<NaiveDate> {
    let s = input.trim();
    match s {
        "今天" => return Some(today),
        "昨天" => return today.pred_opt(),
        "前天" => return today.pred_opt()?.pred_opt(),
        _ => {}
    }
    let nums: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u32>>>()?;
    match nums.as_slice() {
        [y, m, d] if *y >= 2000 => NaiveDate::from_ymd_opt(i32::try_from(*y).ok()?, *m, *d),
        [m, d] => {
            let this = NaiveDate::from_ymd_opt(today.year(), *m, *d)?;
            if this <= today { Some(this) } else { NaiveDate::from_ymd_opt(today.year() - 1, *m, *d) }
        }
        _ => None,
    }
}

/// Does the text hold something that looks like an ID number or a mobile number?
pub fn looks_sensitive(text: &str) -> bool {
    scrub(text) != text
}

/// Mask runs of 11 or more digits (ID numbers, mobile numbers, with or
/// without spaces and dashes, an ID's final X included).
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits, with single spaces, dashes or plus signs between them.
        let start = i;
        let mut end = i;
        let mut digits = 0;
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if matches!(c, ' ' | '-' | '+') && j + 1 < chars.len() && chars[j + 1].is_ascii_digit() {
                j += 1;
            } else if matches!(c, 'X' | 'x') && digits == 17 {
                j += 1;
                end = j;
                break;
            } else {
                break;
            }
        }
        if digits >= 11 {
            out.push_str("***");
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }
    out
}

/// The conversation: (state, input) → next state, replies, effect.
pub fn step(state: &Dialogue, input: Input, ctx: &Ctx) -> Step {
    use Dialogue as D;
    let keep = || state.clone();
    match input {
        Input::Command(cmd) => command(state, cmd, ctx),
        Input::Contact { phone, is_own } => {
            if !is_own {
                return Step::say(
                    keep(),
                    Reply::with(text::FOREIGN_CONTACT, Keyboard::RequestContact(text::CONTACT_BUTTON.into())),
                );
            }
            match state {
                D::AwaitingContact => Step::effect(D::AwaitingContact, Effect::BindByPhone { phone }),
                _ if ctx.bound => Step::say(keep(), Reply::with(text::ALREADY_BOUND, Keyboard::Remove)),
                _ => Step::say(D::AwaitingConsent { code: None }, consent()),
            }
        }
        Input::Text(t) => {
            if looks_sensitive(&t) {
                return Step::say(keep(), Reply::text(text::SENSITIVE));
            }
            match state {
                D::AwaitingSeparationDate { placement_id, changed_job } => match parse_date(&t, ctx.today) {
                    Some(on) if on <= ctx.today => left_on(*placement_id, *changed_job, on),
                    Some(_) => Step::say(keep(), Reply::text(text::DATE_OUT_OF_RANGE)),
                    None => Step::say(keep(), Reply::text(text::BAD_DATE)),
                },
                D::AwaitingSurveyIncome { survey } => match survey::parse_income(&t) {
                    Some(yuan) => {
                        Step::effect(D::Idle, Effect::RecordSurvey { survey: *survey, income: Income::Amount(yuan) })
                    }
                    None => Step::say(keep(), Reply::text(text::SURVEY_ASK_NUMBER)),
                },
                D::AwaitingContact => Step::say(keep(), ask_contact()),
                D::AwaitingConsent { .. } | D::AwaitingDeclineReason { .. } | D::AwaitingSeparationReason { .. } => {
                    Step::say(keep(), Reply::text(text::CHOOSE_ABOVE))
                }
                D::Idle => Step::say(D::Idle, Reply::text(text::UNKNOWN)),
            }
        }
        Input::Button(b) => button(state, b, ctx),
        Input::Outcome(o) => outcome(state, o),
    }
}

fn command(state: &Dialogue, cmd: Command, ctx: &Ctx) -> Step {
    use Dialogue as D;
    match cmd {
        Command::Start(code) => {
            if ctx.bound && code.is_none() {
                if ctx.stopped {
                    Step::effect(D::Idle, Effect::SetPushes { on: true })
                } else {
                    Step::say(D::Idle, Reply::with(text::ALREADY_BOUND, Keyboard::Remove))
                }
            } else {
                Step::say(D::AwaitingConsent { code: code.filter(|c| c.len() <= 64) }, consent())
            }
        }
        Command::Help => Step::say(state.clone(), Reply::text(text::HELP)),
        Command::Unknown(_) => Step::say(state.clone(), Reply::text(text::UNKNOWN)),
        _ if !ctx.bound => Step::say(D::Idle, Reply::text(text::NOT_BOUND)),
        Command::Unbind => Step::effect(D::Idle, Effect::Unbind),
        Command::Stop => Step::effect(D::Idle, Effect::SetPushes { on: false }),
        Command::Jobs => Step::effect(D::Idle, Effect::LoadJobs { page: 0 }),
        Command::Status => Step::effect(D::Idle, Effect::LoadStatus),
    }
}

fn left_on(placement_id: Uuid, changed_job: bool, on: NaiveDate) -> Step {
    if changed_job {
        Step::effect(
            Dialogue::Idle,
            Effect::CheckinLeft { placement_id, on, reason: "换了工作".into(), changed_job: true },
        )
    } else {
        Step::say(Dialogue::AwaitingSeparationReason { placement_id, on }, ask_leave_reason())
    }
}

fn button(state: &Dialogue, b: Button, ctx: &Ctx) -> Step {
    use Dialogue as D;
    match b {
        Button::Consent => match state {
            D::AwaitingConsent { code: Some(code) } => {
                Step::effect(D::AwaitingConsent { code: None }, Effect::BindByCode { code: code.clone() }).closing()
            }
            _ => Step::say(D::AwaitingContact, ask_contact()).closing(),
        },
        Button::Refuse => Step::say(D::Idle, Reply::with(text::REFUSED, Keyboard::Remove)).closing(),
        _ if !ctx.bound => Step::say(D::Idle, Reply::text(text::NOT_BOUND)),
        Button::Offer { offer_id, answer: OfferButton::Interested } => {
            Step::effect(D::Idle, Effect::AcceptOffer { offer_id }).closing()
        }
        Button::Offer { offer_id, answer: OfferButton::NotInterested } => {
            Step::effect(D::AwaitingDeclineReason { offer_id }, Effect::DeclineOffer { offer_id, reason: None })
                .closing()
        }
        Button::Offer { offer_id, answer: OfferButton::Details } => {
            Step::effect(state.clone(), Effect::LoadOffer { offer_id })
        }
        Button::Decline { offer_id, reason } => {
            Step::effect(D::Idle, Effect::DeclineOffer { offer_id, reason: Some(reason) }).closing()
        }
        Button::Checkin { placement_id, answer: CheckinButton::StillThere } => {
            Step::effect(D::Idle, Effect::CheckinStill { placement_id }).closing()
        }
        Button::Checkin { placement_id, answer } => Step::say(
            D::AwaitingSeparationDate { placement_id, changed_job: answer == CheckinButton::ChangedJob },
            ask_leave_date(),
        )
        .closing(),
        Button::LeftToday | Button::LeftYesterday => match state {
            D::AwaitingSeparationDate { placement_id, changed_job } => {
                let on = if b == Button::LeftToday { Some(ctx.today) } else { ctx.today.pred_opt() };
                match on {
                    Some(on) => left_on(*placement_id, *changed_job, on).closing(),
                    None => Step::say(state.clone(), Reply::text(text::BAD_DATE)),
                }
            }
            _ => Step::say(D::Idle, Reply::text(text::UNKNOWN)).closing(),
        },
        Button::LeaveReason(r) => match state {
            D::AwaitingSeparationReason { placement_id, on } => Step::effect(
                D::Idle,
                Effect::CheckinLeft {
                    placement_id: *placement_id,
                    on: *on,
                    reason: r.label().to_owned(),
                    changed_job: false,
                },
            )
            .closing(),
            _ => Step::say(D::Idle, Reply::text(text::UNKNOWN)).closing(),
        },
        Button::JobsPage(page) => Step::effect(state.clone(), Effect::LoadJobs { page }),
        Button::Survey(s) => survey_step(state, s).closing(),
        Button::SurveyMoreProvinces(s) => Step::say(state.clone(), survey::province_question(&s, true)).closing(),
        Button::SurveyIncome(s, band) => Step::effect(
            D::Idle,
            Effect::RecordSurvey { survey: s, income: band.map_or(Income::NotGiven, Income::Band) },
        )
        .closing(),
    }
}

/// The next survey question, or the record once everything is asked.
fn survey_step(state: &Dialogue, s: Survey) -> Step {
    match (s.next(), survey::question(&s)) {
        (Next::Income, Some(q)) => Step::say(Dialogue::AwaitingSurveyIncome { survey: s }, q),
        (_, Some(q)) => Step::say(state.clone(), q),
        (_, None) => Step::effect(Dialogue::Idle, Effect::RecordSurvey { survey: s, income: Income::NotGiven }),
    }
}

fn outcome(state: &Dialogue, o: Outcome) -> Step {
    use Dialogue as D;
    let keep = || state.clone();
    match o {
        Outcome::Bound => Step::say(D::Idle, Reply::with(text::BOUND, Keyboard::Remove)),
        Outcome::UnknownPhone => Step::say(D::Idle, Reply::with(text::UNKNOWN_PHONE, Keyboard::Remove)),
        Outcome::AmbiguousPhone => Step::say(D::Idle, Reply::with(text::AMBIGUOUS_PHONE, Keyboard::Remove)),
        Outcome::CodeInvalid => Step::say(D::Idle, Reply::with(text::CODE_INVALID, Keyboard::Remove)),
        Outcome::Unbound { .. } => Step::say(D::Idle, Reply::with(text::UNBOUND, Keyboard::Remove)),
        Outcome::PushesSet { on: true } => Step::say(D::Idle, Reply::text(text::RESUMED)),
        Outcome::PushesSet { on: false } => Step::say(D::Idle, Reply::text(text::STOPPED)),
        Outcome::OfferAccepted { title, employer } => {
            Step::say(D::Idle, Reply::text(format!("好的！已告诉{employer}您对“{title}”感兴趣，他们会尽快联系您。")))
        }
        Outcome::OfferDeclined { with_reason: false } => match state {
            D::AwaitingDeclineReason { offer_id } => Step::say(keep(), decline_reasons(*offer_id)),
            _ => Step::say(D::Idle, Reply::text(text::DECLINE_THANKS)),
        },
        Outcome::OfferDeclined { with_reason: true } => Step::say(D::Idle, Reply::text(text::DECLINE_THANKS)),
        Outcome::OfferClosed(status) => Step::say(D::Idle, Reply::text(closed(&status))),
        Outcome::OfferNotFound => Step::say(D::Idle, Reply::text(text::OFFER_GONE)),
        Outcome::Offer(v) => Step::say(keep(), details(&v)),
        Outcome::CheckinRecorded => Step::say(D::Idle, Reply::text(text::CHECKIN_STILL)),
        Outcome::Separated { changed_job } => {
            Step::say(D::Idle, Reply::text(if changed_job { text::CHANGED_JOB } else { text::SEPARATED }))
        }
        Outcome::CheckinClosed => Step::say(D::Idle, Reply::text(text::CHECKIN_CLOSED)),
        Outcome::CheckinBadDate => match state {
            D::AwaitingSeparationReason { placement_id, .. } => Step::say(
                D::AwaitingSeparationDate { placement_id: *placement_id, changed_job: false },
                Reply::text(text::DATE_OUT_OF_RANGE),
            ),
            _ => Step::say(D::Idle, Reply::text(text::DATE_OUT_OF_RANGE)),
        },
        Outcome::Jobs { page, items, more } => Step::say(keep(), jobs_page(page, &items, more)),
        Outcome::Status(s) => Step::say(keep(), Reply::text(status_text(&s))),
        Outcome::SurveyRecorded { period } => {
            Step::say(D::Idle, Reply::text(format!("谢谢！已记录您{}月的情况。", period.month())))
        }
        Outcome::SurveyClosed => Step::say(D::Idle, Reply::text(text::SURVEY_CLOSED)),
        Outcome::Failed => Step::say(keep(), Reply::text(text::BUSY)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(bound: bool) -> Ctx {
        Ctx { today: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(), bound, stopped: false }
    }

    #[test]
    fn buttons_round_trip_within_64_bytes() {
        let id = Uuid::now_v7();
        let all = [
            Button::Consent,
            Button::Refuse,
            Button::Offer { offer_id: id, answer: OfferButton::Interested },
            Button::Offer { offer_id: id, answer: OfferButton::NotInterested },
            Button::Offer { offer_id: id, answer: OfferButton::Details },
            Button::Decline { offer_id: id, reason: DeclineReason::WrongTrade },
            Button::Checkin { placement_id: id, answer: CheckinButton::ChangedJob },
            Button::LeftToday,
            Button::LeftYesterday,
            Button::LeaveReason(LeaveReason::Family),
            Button::JobsPage(3),
        ];
        for b in all {
            let e = b.encode();
            assert!(e.len() <= 64, "{e}");
            assert_eq!(Button::decode(&e), Some(b), "{e}");
        }
        assert_eq!(Button::decode("o:x:nope"), None);
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse_command("/start"), Some(Command::Start(None)));
        assert_eq!(parse_command("/start@QianlinkBot ABC123"), Some(Command::Start(Some("ABC123".into()))));
        assert_eq!(parse_command("/Jobs"), Some(Command::Jobs));
        assert_eq!(parse_command("你好"), None);
    }

    #[test]
    fn binding_asks_consent_then_the_own_contact() {
        let s = step(&Dialogue::Idle, Input::Command(Command::Start(None)), &ctx(false));
        assert_eq!(s.next, Dialogue::AwaitingConsent { code: None });
        assert!(s.replies[0].text.contains("身份证号"));
        let s = step(&s.next, Input::Button(Button::Consent), &ctx(false));
        assert_eq!(s.next, Dialogue::AwaitingContact);
        assert!(matches!(s.replies[0].keyboard, Keyboard::RequestContact(_)));
        let foreign = step(&s.next, Input::Contact { phone: "13800000000".into(), is_own: false }, &ctx(false));
        assert_eq!(foreign.effect, None);
        assert_eq!(foreign.next, Dialogue::AwaitingContact);
        let own = step(&s.next, Input::Contact { phone: "13800000000".into(), is_own: true }, &ctx(false));
        assert_eq!(own.effect, Some(Effect::BindByPhone { phone: "13800000000".into() }));
        let done = step(&own.next, Input::Outcome(Outcome::Bound), &ctx(true));
        assert_eq!(done.next, Dialogue::Idle);
    }

    #[test]
    fn a_code_binds_after_consent() {
        let s = step(&Dialogue::Idle, Input::Command(Command::Start(Some("ABCD".into()))), &ctx(false));
        let s = step(&s.next, Input::Button(Button::Consent), &ctx(false));
        assert_eq!(s.effect, Some(Effect::BindByCode { code: "ABCD".into() }));
    }

    #[test]
    fn declining_asks_why() {
        let id = Uuid::now_v7();
        let s = step(
            &Dialogue::Idle,
            Input::Button(Button::Offer { offer_id: id, answer: OfferButton::NotInterested }),
            &ctx(true),
        );
        assert_eq!(s.effect, Some(Effect::DeclineOffer { offer_id: id, reason: None }));
        let s = step(&s.next, Input::Outcome(Outcome::OfferDeclined { with_reason: false }), &ctx(true));
        assert_eq!(s.next, Dialogue::AwaitingDeclineReason { offer_id: id });
        let Keyboard::Inline(rows) = &s.replies[0].keyboard else { panic!() };
        let labels: Vec<&str> = rows.iter().flatten().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["工资低", "太远", "工种不合适", "其他"]);
    }

    #[test]
    fn leaving_asks_the_date_and_the_reason() {
        let p = Uuid::now_v7();
        let s = step(
            &Dialogue::Idle,
            Input::Button(Button::Checkin { placement_id: p, answer: CheckinButton::Left }),
            &ctx(true),
        );
        let s = step(&s.next, Input::Text("11月20日".into()), &ctx(true));
        let on = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(s.next, Dialogue::AwaitingSeparationReason { placement_id: p, on });
        let s = step(&s.next, Input::Button(Button::LeaveReason(LeaveReason::Family)), &ctx(true));
        assert_eq!(
            s.effect,
            Some(Effect::CheckinLeft { placement_id: p, on, reason: "家里有事".into(), changed_job: false })
        );
    }

    #[test]
    fn dates_parse() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(parse_date("12-28", today), NaiveDate::from_ymd_opt(2025, 12, 28));
        assert_eq!(parse_date("1.3", today), NaiveDate::from_ymd_opt(2026, 1, 3));
        assert_eq!(parse_date("2025-11-20", today), NaiveDate::from_ymd_opt(2025, 11, 20));
        assert_eq!(parse_date("昨天", today), NaiveDate::from_ymd_opt(2026, 1, 4));
        assert_eq!(parse_date("不知道", today), None);
    }

    #[test]
    fn scrub_masks_id_and_phone_numbers_only() {
        assert_eq!(scrub("电话 138-1234-5678 联系"), "电话 *** 联系");
        assert_eq!(scrub("身份证 52232819900101123X 谢谢"), "身份证 *** 谢谢");
        assert_eq!(
            scrub("工资：4500–6000 元/月，合同 12 个月，2026-11-20"),
            "工资：4500–6000 元/月，合同 12 个月，2026-11-20"
        );
        assert!(looks_sensitive("我的号码是13812345678"));
    }

    #[test]
    fn the_survey_asks_place_province_industry_then_income() {
        use crate::survey::{Industry, Place};
        use domain::worker::EmploymentStatus;
        let period = YearMonth::new(2026, 11).unwrap();
        let push = survey::start_message(period);
        assert!(push.text.contains("11月您主要在做什么"), "{}", push.text);
        let pick = |r: &Reply, label: &str| -> Button {
            let Keyboard::Inline(rows) = &r.keyboard else { panic!("no buttons in {r:?}") };
            rows.iter().flatten().find(|(l, _)| l == label).map(|(_, b)| *b).unwrap_or_else(|| panic!("{label}"))
        };
        let mut state = Dialogue::Idle;
        let mut reply = push;
        for label in ["在上班", "省外", "其他省份", "新疆", "运输物流"] {
            let s = step(&state, Input::Button(pick(&reply, label)), &ctx(true));
            assert!(s.close_buttons && s.effect.is_none(), "{label}");
            state = s.next;
            reply = s.replies[0].clone();
        }
        assert!(reply.text.contains("收入大约多少元"), "{}", reply.text);
        assert!(matches!(state, Dialogue::AwaitingSurveyIncome { .. }));
        let bad = step(&state, Input::Text("不告诉你".into()), &ctx(true));
        assert_eq!(bad.next, state);
        let s = step(&state, Input::Text("6500元".into()), &ctx(true));
        let expected = Survey {
            period,
            status: Some(EmploymentStatus::Employed),
            place: Some(Place::OutOfProvince),
            province: Some(65),
            industry: Some(Industry::Transport),
        };
        assert_eq!(s.effect, Some(Effect::RecordSurvey { survey: expected, income: Income::Amount(6500) }));
        // A band instead of a number; the state is not needed for it.
        let band = step(&Dialogue::Idle, Input::Button(pick(&reply, "4000–5000")), &ctx(true));
        assert_eq!(
            band.effect,
            Some(Effect::RecordSurvey { survey: expected, income: Income::Band(IncomeBand::From4000) })
        );
        // Out of work: recorded at once.
        let idle = step(&Dialogue::Idle, Input::Button(pick(&survey::start_message(period), "没有工作")), &ctx(true));
        assert!(matches!(idle.effect, Some(Effect::RecordSurvey { income: Income::NotGiven, .. })));
        let done = step(&idle.next, Input::Outcome(Outcome::SurveyRecorded { period }), &ctx(true));
        assert!(done.replies[0].text.contains("11月"));
        for r in [&reply] {
            for word in ["脱贫", "监测", "零就业", "困难", "身份证"] {
                assert!(!r.text.contains(word), "{word}");
            }
        }
    }

    #[test]
    fn offers_state_the_rule_not_the_worker() {
        let v = OfferView {
            offer_id: Uuid::now_v7(),
            title: "普工".into(),
            employer: "东莞某电子厂".into(),
            place: "广东省东莞市".into(),
            cross_province: true,
            wage_min: 5000,
            wage_max: 6500,
            contract_months: Some(12),
            description: String::new(),
        };
        let m = offer_message(&v);
        assert!(m.text.contains("跨省务工稳定就业满3个月"));
        for word in ["脱贫", "监测", "零就业", "困难"] {
            assert!(!m.text.contains(word), "{word}");
        }
    }
}
