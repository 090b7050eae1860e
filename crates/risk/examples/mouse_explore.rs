//! Development aid: Balabit evaluation.
use passkeyd_risk::forest::ForestParams;
use passkeyd_risk::mouse::{LabelledSession, evaluate_mouse, parse_balabit, session_features};
use std::path::Path;

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or("/work/targets/balabit/Mouse-Dynamics-Challenge".into());
    let root = Path::new(&root);
    let t = std::time::Instant::now();
    let mut train = vec![];
    let mut users: Vec<String> = std::fs::read_dir(root.join("training_files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    users.sort();
    for u in &users {
        let mut acts = vec![];
        for e in std::fs::read_dir(root.join("training_files").join(u)).unwrap() {
            let txt = std::fs::read_to_string(e.unwrap().path()).unwrap();
            acts.extend(session_features(&parse_balabit(&txt).0));
        }
        println!("{u}: {} actions", acts.len());
        train.push((u.clone(), acts));
    }
    let labels = std::fs::read_to_string(root.join("public_labels.csv")).unwrap();
    let mut lab = std::collections::HashMap::new();
    for l in labels.lines().skip(1) {
        let f: Vec<&str> = l.trim().split(',').collect();
        lab.insert(f[0].to_string(), f[1] == "1");
    }
    let mut test = vec![];
    for u in &users {
        for e in std::fs::read_dir(root.join("test_files").join(u)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(&ill) = lab.get(&name) {
                let txt = std::fs::read_to_string(e.path()).unwrap();
                test.push(LabelledSession {
                    user: u.clone(),
                    name,
                    illegal: ill,
                    actions: session_features(&parse_balabit(&txt).0),
                });
            }
        }
    }
    println!("{} labelled sessions, load {:?}", test.len(), t.elapsed());
    let r = evaluate_mouse(&train, &test, &ForestParams::default());
    println!("AUC {:.4} EER {:.4} {:?}", r.auc, r.eer, t.elapsed());
    for u in &r.per_user {
        println!("{u:?}");
    }
}
