#!/usr/bin/env python3
"""Write a ledger CSV of N synthetic workers (valid ID numbers, fixed seed) for the import benchmark."""
import random, sys

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"
COUNTY = sys.argv[2] if len(sys.argv) > 2 else "522328"

def idn(body):
    return body + C[sum(int(d) * w for d, w in zip(body, W)) % 11]

def main():
    n = int(sys.argv[1])
    rnd = random.Random(42)
    print("身份证号,姓名,手机号,户编号,安置点,县级代码,人员类别,技能,文化程度,毕业年份,就业状态,愿意跨省务工,接收岗位推送,在职仍求职,期望最低月薪,意向务工县")
    statuses = ["就业", "未就业", "公益性岗位", "自主创业", "在校学生"]
    skills = ["电焊", "叉车", "缝纫", "电工", "砌筑", "家政", "厨师", "驾驶"]
    seen = set()
    for i in range(n):
        while True:
            y = rnd.randint(1965, 2006); m = rnd.randint(1, 12); d = rnd.randint(1, 28)
            body = f"{COUNTY}{y:04d}{m:02d}{d:02d}{rnd.randint(0, 999):03d}"
            if body not in seen:
                seen.add(body); break
        phone = f"13{rnd.randint(0, 999999999):09d}"
        hh = f"BH-{COUNTY}-{i // 2:06d}"
        print(f"{idn(body)},王{i},{phone},{hh},碧海阳光新城,{COUNTY},搬迁劳动力,{rnd.choice(skills)},初中,,{rnd.choice(statuses)},是,是,否,{rnd.randint(25, 60) * 100},")

main()
