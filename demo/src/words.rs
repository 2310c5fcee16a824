//! The vocabulary of the demo province: places (real division codes from
//! `seed/divisions.csv`), resettlement sites, names, organisations and the
//! trades whose jobs, skills and 2022 occupation codes the generator draws
//! from. Names of people and companies are invented; the sites marked real
//! in [`COUNTIES`] are named in `../shared/data/facts.md`.

/// A county of the demo with its resettlement sites and its weight
/// (share of the households).
pub struct County {
    pub code: &'static str,
    pub name: &'static str,
    pub sites: &'static [&'static str],
    pub weight: u32,
}

/// 20 counties in 8 prefectures. Sites: 碧海阳光新城 (七星关区), 旺家社区 (万山区),
/// 阿妹戚托小镇 (晴隆县) and 洒金街道 (兴义市) are real sites; the others are
/// invented names in the style of Guizhou's resettlement communities.
pub const COUNTIES: &[County] = &[
    County { code: "520502", name: "七星关区", sites: &["碧海阳光新城", "柏杨林安置区"], weight: 12 },
    County { code: "520526", name: "威宁县", sites: &["五里岗安置区", "草海新市民居住区"], weight: 9 },
    County { code: "520524", name: "织金县", sites: &["惠民安置区"], weight: 5 },
    County { code: "520525", name: "纳雍县", sites: &["雍熙新市民居住区"], weight: 4 },
    County { code: "522301", name: "兴义市", sites: &["洒金街道安置区", "栗坪社区"], weight: 8 },
    County { code: "522324", name: "晴隆县", sites: &["阿妹戚托小镇", "东观安置区"], weight: 5 },
    County { code: "522326", name: "望谟县", sites: &["平洞安置区"], weight: 4 },
    County { code: "522328", name: "安龙县", sites: &["钱相安置区"], weight: 4 },
    County { code: "520603", name: "万山区", sites: &["旺家社区"], weight: 6 },
    County { code: "520628", name: "松桃县", sites: &["长兴新城安置区"], weight: 5 },
    County { code: "520602", name: "碧江区", sites: &["矮屯安置区"], weight: 3 },
    County { code: "522636", name: "丹寨县", sites: &["金泉湖安置区"], weight: 3 },
    County { code: "522633", name: "从江县", sites: &["东城安置区"], weight: 4 },
    County { code: "522601", name: "凯里市", sites: &["白午安置区"], weight: 3 },
    County { code: "520281", name: "盘州市", sites: &["亦资安置区"], weight: 5 },
    County { code: "520204", name: "水城区", sites: &["滥坝安置区"], weight: 4 },
    County { code: "520422", name: "普定县", sites: &["普定新城安置区"], weight: 3 },
    County { code: "520425", name: "紫云县", sites: &["猴场安置区"], weight: 3 },
    County { code: "522732", name: "三都县", sites: &["凤羽安置区"], weight: 3 },
    County { code: "520330", name: "习水县", sites: &["九龙安置区"], weight: 3 },
];

/// Guizhou places of work outside the demo counties (贵阳, 遵义): in-province work.
pub const GUIZHOU_CITIES: &[(&str, &str)] =
    &[("520115", "贵阳市观山湖区"), ("520111", "贵阳市花溪区"), ("520303", "遵义市汇川区")];

/// Guangdong cities of the confirmed pairings, the districts where their jobs are, and a word for their industry.
pub struct GdCity {
    pub code: &'static str,
    pub name: &'static str,
    /// Guizhou prefectures it pairs with (first four digits), per `seed/yueqian_pairing.csv`.
    pub pairs: &'static [&'static str],
    pub districts: &'static [(&'static str, &'static str)],
    pub trades: &'static [Trade],
}

pub const GD_CITIES: &[GdCity] = &[
    GdCity {
        code: "440100",
        pairs: &["5205", "5227", "5204"],
        name: "广州",
        districts: &[("440114", "花都区"), ("440113", "番禺区"), ("440111", "白云区")],
        trades: &[Trade::Leather, Trade::Electronics, Trade::Logistics, Trade::Catering],
    },
    GdCity {
        code: "440600",
        pairs: &["5226"],
        name: "佛山",
        districts: &[("440605", "南海区"), ("440606", "顺德区")],
        trades: &[Trade::Welding, Trade::Machining, Trade::Electronics],
    },
    GdCity {
        code: "440400",
        pairs: &["5203"],
        name: "珠海",
        districts: &[("440404", "金湾区"), ("440402", "香洲区")],
        trades: &[Trade::Electronics, Trade::Machining],
    },
    GdCity {
        code: "441300",
        pairs: &["5223"],
        name: "惠州",
        districts: &[("441302", "惠城区"), ("441303", "惠阳区"), ("441323", "惠东县")],
        trades: &[Trade::NewEnergy, Trade::Electronics, Trade::Leather],
    },
    GdCity {
        code: "442000",
        pairs: &["5202"],
        name: "中山",
        districts: &[("442000", "中山市")],
        trades: &[Trade::Electronics, Trade::Garment],
    },
    GdCity {
        code: "441900",
        pairs: &["5206"],
        name: "东莞",
        districts: &[("441900", "东莞市")],
        trades: &[Trade::Electronics, Trade::Leather, Trade::Garment],
    },
];

/// The trades of the demo: what workers know and what jobs ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trade {
    Electronics,
    Welding,
    Garment,
    Leather,
    Construction,
    Catering,
    Housekeeping,
    Security,
    Logistics,
    Farming,
    Cleaning,
    Driving,
    NewEnergy,
    Machining,
}

pub const TRADES: &[(Trade, u32)] = &[
    (Trade::Electronics, 16),
    (Trade::Welding, 6),
    (Trade::Garment, 9),
    (Trade::Leather, 5),
    (Trade::Construction, 10),
    (Trade::Catering, 8),
    (Trade::Housekeeping, 7),
    (Trade::Security, 4),
    (Trade::Logistics, 7),
    (Trade::Farming, 10),
    (Trade::Cleaning, 5),
    (Trade::Driving, 3),
    (Trade::NewEnergy, 5),
    (Trade::Machining, 4),
];

/// One kind of job of a trade: title, 2022 occupation code, skills it asks for.
pub struct JobKind {
    pub title: &'static str,
    pub occupation: &'static str,
    pub skills: &'static [&'static str],
    pub wage: (i32, i32),
}

impl Trade {
    /// Skills a worker of the trade lists in the ledger (words of `seed/synonyms.txt`).
    pub fn skills(self) -> &'static [&'static str] {
        match self {
            Trade::Electronics => &["普工", "装配工", "电子装配"],
            Trade::Welding => &["焊工", "电焊"],
            Trade::Garment => &["缝纫", "缝纫工"],
            Trade::Leather => &["制鞋", "皮具"],
            Trade::Construction => &["砌筑工", "钢筋工", "小工"],
            Trade::Catering => &["厨师", "服务员"],
            Trade::Housekeeping => &["家政", "保姆", "护工"],
            Trade::Security => &["保安"],
            Trade::Logistics => &["分拣员", "搬运工"],
            Trade::Farming => &["种植", "养殖", "茶叶加工"],
            Trade::Cleaning => &["保洁"],
            Trade::Driving => &["驾驶", "货车司机"],
            Trade::NewEnergy => &["普工", "电池装配"],
            Trade::Machining => &["数控", "车工"],
        }
    }

    /// Industry as a monitoring answer names it.
    pub fn industry(self) -> &'static str {
        match self {
            Trade::Electronics
            | Trade::Welding
            | Trade::Garment
            | Trade::Leather
            | Trade::NewEnergy
            | Trade::Machining => "制造业",
            Trade::Construction => "建筑业",
            Trade::Catering => "住宿和餐饮业",
            Trade::Housekeeping | Trade::Cleaning | Trade::Security => "居民服务业",
            Trade::Logistics | Trade::Driving => "交通运输、仓储和邮政业",
            Trade::Farming => "农林牧渔业",
        }
    }

    pub fn jobs(self) -> &'static [JobKind] {
        match self {
            Trade::Electronics => &[
                JobKind {
                    title: "电子厂普工",
                    occupation: "6-25-04-07",
                    skills: &["普工", "装配"],
                    wage: (4200, 6200),
                },
                JobKind {
                    title: "SMT贴片操作员",
                    occupation: "6-25-04-07",
                    skills: &["SMT", "普工"],
                    wage: (4800, 6500),
                },
                JobKind {
                    title: "电子产品装配工", occupation: "6-25-04-07", skills: &["装配工"], wage: (4500, 6000)
                },
            ],
            Trade::Welding => &[
                JobKind {
                    title: "电焊工", occupation: "6-18-02-04", skills: &["焊工", "电焊"], wage: (6000, 9000)
                },
                JobKind { title: "二保焊焊工", occupation: "6-18-02-04", skills: &["焊工"], wage: (6500, 9500) },
            ],
            Trade::Garment => &[
                JobKind { title: "缝纫工", occupation: "6-05-01-03", skills: &["缝纫"], wage: (3500, 6000) },
                JobKind {
                    title: "帮扶车间缝纫工", occupation: "6-05-01-03", skills: &["缝纫工"], wage: (2400, 3600)
                },
            ],
            Trade::Leather => &[
                JobKind {
                    title: "皮具车间操作工",
                    occupation: "6-05-02-01",
                    skills: &["皮具", "普工"],
                    wage: (4500, 6500),
                },
                JobKind { title: "制鞋工", occupation: "6-05-04-01", skills: &["制鞋"], wage: (4200, 6000) },
            ],
            Trade::Construction => &[
                JobKind { title: "砌筑工", occupation: "6-29-01-01", skills: &["砌筑工"], wage: (5000, 8000) },
                JobKind { title: "钢筋工", occupation: "6-29-01-04", skills: &["钢筋工"], wage: (5500, 8500) },
                JobKind { title: "建筑小工", occupation: "6-29-01-03", skills: &["小工"], wage: (3500, 5000) },
            ],
            Trade::Catering => &[
                JobKind { title: "中餐厨师", occupation: "4-03-02-01", skills: &["厨师"], wage: (4000, 6500) },
                JobKind {
                    title: "餐厅服务员", occupation: "4-03-02-05", skills: &["服务员"], wage: (2800, 4200)
                },
            ],
            Trade::Housekeeping => &[
                JobKind {
                    title: "家政服务员",
                    occupation: "4-10-01-06",
                    skills: &["家政", "保姆"],
                    wage: (3500, 6000),
                },
                JobKind { title: "养老护理员", occupation: "4-10-01-05", skills: &["护工"], wage: (3200, 5000) },
            ],
            Trade::Security => {
                &[JobKind { title: "保安员", occupation: "4-07-05-01", skills: &["保安"], wage: (2800, 4500) }]
            }
            Trade::Logistics => &[
                JobKind {
                    title: "快递分拣员", occupation: "4-02-07-09", skills: &["分拣员"], wage: (4000, 6000)
                },
                JobKind {
                    title: "仓库装卸搬运工", occupation: "4-02-05-01", skills: &["搬运工"], wage: (4200, 6500)
                },
            ],
            Trade::Farming => &[
                JobKind {
                    title: "茶叶加工工", occupation: "6-02-06-10", skills: &["茶叶加工"], wage: (2200, 3500)
                },
                JobKind {
                    title: "蔬菜基地种植工", occupation: "5-01-02-01", skills: &["种植"], wage: (2000, 3200)
                },
                JobKind {
                    title: "养殖场饲养员", occupation: "5-03-02-01", skills: &["养殖"], wage: (2500, 4000)
                },
            ],
            Trade::Cleaning => {
                &[JobKind {
                    title: "物业保洁员", occupation: "4-09-08-01", skills: &["保洁"], wage: (2200, 3200)
                }]
            }
            Trade::Driving => &[JobKind {
                title: "货车司机（B2驾照）",
                occupation: "4-02-02-02",
                skills: &["货车司机", "驾驶"],
                wage: (6000, 9000),
            }],
            Trade::NewEnergy => &[
                JobKind {
                    title: "锂电池装配工",
                    occupation: "6-24-04-00",
                    skills: &["电池装配", "普工"],
                    wage: (4800, 6800),
                },
                JobKind {
                    title: "光伏组件操作工", occupation: "6-24-02-04", skills: &["普工"], wage: (4500, 6500)
                },
            ],
            Trade::Machining => &[
                JobKind {
                    title: "CNC数控操作工",
                    occupation: "6-18-01-01",
                    skills: &["数控", "CNC"],
                    wage: (5500, 8000),
                },
                JobKind { title: "车床操作工", occupation: "6-18-01-01", skills: &["车工"], wage: (5000, 7500) },
            ],
        }
    }

    /// A word for a company of the trade.
    pub fn company(self) -> &'static str {
        match self {
            Trade::Electronics => "电子科技有限公司",
            Trade::Welding => "钢结构工程有限公司",
            Trade::Garment => "服饰有限公司",
            Trade::Leather => "皮具制品有限公司",
            Trade::Construction => "建筑工程有限公司",
            Trade::Catering => "餐饮管理有限公司",
            Trade::Housekeeping => "家政服务有限公司",
            Trade::Security => "保安服务有限公司",
            Trade::Logistics => "物流有限公司",
            Trade::Farming => "农业发展有限公司",
            Trade::Cleaning => "物业管理有限公司",
            Trade::Driving => "运输有限公司",
            Trade::NewEnergy => "新能源科技有限公司",
            Trade::Machining => "精密机械有限公司",
        }
    }

    /// Trades whose jobs exist in Guizhou counties.
    pub fn local(self) -> bool {
        !matches!(self, Trade::Leather)
    }
}

/// Parts of job descriptions, joined per posting.
pub const SHIFTS: &[&str] = &["长白班，每天8小时", "两班倒，月休4天", "做六休一，加班另计", "早晚班轮换，按时排班"];
pub const PERKS: &[&str] = &[
    "包吃包住，宿舍配空调热水",
    "提供免费工作餐，住宿补贴300元/月",
    "购买五险一金，满一年有年终奖",
    "缴纳社会保险，节假日发放福利",
    "安置点设免费通勤班车",
];
pub const GD_PERKS: &[&str] =
    &["粤黔协作有组织劳务输出，统一包车送岗", "报销来粤车票，春节包车返乡", "驻厂专员跟踪服务，帮助适应工作生活"];
pub const LOCAL_PERKS: &[&str] = &["就近就业，照顾家庭", "安置点帮扶车间，计件工资多劳多得", "离家近，可走读"];

pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "吴", "周", "罗", "龙", "石", "潘", "韦", "赵", "徐", "孙", "马", "朱",
    "胡", "何", "高", "谢", "宋", "唐", "邓", "曹", "彭", "田", "袁", "蒋", "余", "杜", "苏", "吕", "任", "姚", "熊",
    "雷", "陆", "付", "金", "侯", "顾", "毛", "卢", "蒙", "岑", "安", "禄",
];
pub const MALE_CHARS: &[&str] = &[
    "明", "伟", "强", "军", "勇", "杰", "涛", "斌", "超", "波", "辉", "刚", "健", "平", "华", "林", "峰", "磊", "成",
    "飞", "兵", "洪", "文", "国", "春", "德", "海", "发", "福", "贵", "荣", "顺", "光", "忠", "志", "永", "正", "学",
    "昌", "仁",
];
pub const FEMALE_CHARS: &[&str] = &[
    "芳", "娟", "敏", "静", "丽", "艳", "霞", "燕", "玲", "红", "梅", "琴", "英", "兰", "秀", "萍", "莉", "娜", "雪",
    "慧", "婷", "丹", "琳", "洁", "凤", "翠", "珍", "菊", "桂", "春",
];

/// Words for company names (invented).
pub const BRAND: &[&str] = &[
    "鑫达",
    "华盛",
    "宏远",
    "立信",
    "金鹏",
    "恒丰",
    "泰和",
    "永兴",
    "新源",
    "裕丰",
    "天成",
    "远航",
    "富康",
    "广泰",
    "嘉顺",
    "隆昌",
    "德胜",
    "利民",
    "安泰",
    "华美",
    "盛世",
    "万达",
    "博远",
    "凯旋",
    "聚力",
    "众诚",
    "黔顺",
    "山海",
    "同心",
    "乌江",
    "红枫",
    "云上",
    "盘江",
    "夜郎",
    "麻山",
    "苗岭",
    "清水江",
    "北盘江",
    "梵净",
    "赤水",
];

/// Mobile prefixes of the synthetic phone numbers.
pub const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "135", "136", "138", "139", "150", "151", "152", "157", "158", "159", "178", "182", "183",
    "187", "188", "198",
];

pub const TRAINING_PROVIDERS: &[&str] =
    &["县职业技能培训中心", "安置点就业培训基地", "贵州交通技师学院", "毕节职业技术学院", "黔西南民族职业技术学院"];
